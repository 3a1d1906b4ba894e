import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
import WorkerBee
import WorkerBeeFixtures
import WorkerBeeTestSupport

extension Deployment {
    /// Three `workerbee serve` processes behind haproxy running `deploy/haproxy/haproxy.cfg`, under
    /// a bounded load, while whole servers are killed (`kill -9`) and stopped (SIGTERM) and started
    /// again: no client sees a failure, and every vector is the text's own.
    @Suite(.serialized) struct HAProxyFleetTests {
        /// Distinct texts; each request sends one to three of them.
        static let texts = (0..<48).map { "Fleet sentence \($0): the \(["river", "mountain", "engine", "garden"][$0 % 4]) keeps \($0 * 7) secrets." }
        /// Requests answered between one disruption and the next.
        static let answersBetweenDisruptions = 150
        /// The most requests the load sends, whatever happens.
        static let requestLimit = 4_000

        static let client = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(timeout: .init(connect: .seconds(30)), connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 16)))

        /// One client request's outcome.
        struct Outcome: Sendable {
            let texts: [Int]
            let status: UInt
            let vectors: [[Float]]
            let seconds: Double
            let failure: String?
            /// Why the client sent this request a second time, if it did: its connection to
            /// haproxy closed without an answer, or haproxy answered 503.
            var resentBecause: String? = nil
        }

        @Test(.timeLimit(.minutes(10))) func killingAndStoppingServersBehindHAProxyFailsNoRequest() async throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-fleet-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let servers = try (0..<3).map { _ in try ServeProcess(port: try freeLoopbackPort(), directory: directory) }
            try await withCleanup({ for server in servers { await server.stop() } }) {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for server in servers { group.addTask { try await server.start() } }
                    try await group.waitForAll()
                }
                let haproxy = try await HAProxyProcess.start(servers: servers.map(\.port))
                try await withCleanup({ _ = await haproxy.stop() }) {
                    try await haproxy.waitUntilEveryServerIsUp(client: Self.client)
                    let expected = try await Self.embed(Array(0..<Self.texts.count), port: haproxy.port).vectors
                    #expect(expected.count == Self.texts.count)

                    let (answered, announce) = AsyncStream<Void>.makeStream()
                    let control = LoadControl()
                    let start = ContinuousClock.now
                    let load = Task { try await Self.runLoad(port: haproxy.port, clients: 4, control: control, announce: announce) }
                    var answers = answered.makeAsyncIterator()
                    func awaitAnswers() async throws {
                        for _ in 0..<Self.answersBetweenDisruptions {
                            guard await answers.next() != nil else { throw FleetError("the load ended early") }
                        }
                    }
                    var disruptions: [String] = []
                    func note(_ what: String) { disruptions.append("\(what) at \((ContinuousClock.now - start).seconds) s") }
                    // kill -9 a whole server, start it again; then kill -9 one while SIGTERM drains
                    // another; then kill -9 a third time. Each once the fleet answered more requests
                    // and haproxy sees every server up again.
                    let plan: [(kill: Int, drain: Int?)] = [(0, nil), (2, 1), (0, nil), (1, nil)]
                    for step in plan {
                        try await awaitAnswers()
                        note("kill -9 server \(step.kill + 1)" + (step.drain.map { ", SIGTERM server \($0 + 1)" } ?? ""))
                        await servers[step.kill].send(SIGKILL)
                        if let drain = step.drain { await servers[drain].send(SIGTERM) }
                        _ = try await servers[step.kill].waitForExit()
                        if let drain = step.drain {
                            let output = try await servers[drain].waitForExit()
                            #expect(output.status == .exited(0), "a drained server exits 0: \(String(decoding: output.stderr, as: UTF8.self))")
                            try await servers[drain].start()
                        }
                        try await servers[step.kill].start()
                        try await haproxy.waitUntilEveryServerIsUp(client: Self.client)
                    }
                    try await awaitAnswers()
                    control.stop()
                    let outcomes = try await load.value
                    let elapsed = (ContinuousClock.now - start).seconds
                    let statistics = try await haproxy.statistics(client: Self.client)

                    let failures = outcomes.filter { $0.failure != nil || $0.status != 200 }
                    // haproxy's lines for requests that did not end normally (termination state
                    // other than ----), to say where a failure came from.
                    let resent = outcomes.filter { $0.resentBecause != nil }
                    let unusual = failures.isEmpty && resent.isEmpty ? [] : (await haproxy.stop()).split(separator: "\n").filter { $0.contains("/v1/embeddings") && !$0.contains(" ---- ") }
                    #expect(
                        failures.isEmpty,
                        "\(failures.count) of \(outcomes.count) requests failed, e.g. \(failures.prefix(3).map { "\($0.status) \($0.failure ?? "")" }); haproxy: \(unusual.suffix(10).joined(separator: "\n"))")
                    var wrong = 0
                    for outcome in outcomes where outcome.status == 200 {
                        guard outcome.vectors.count == outcome.texts.count else { wrong += 1; continue }
                        for (text, vector) in zip(outcome.texts, outcome.vectors) where vector.count != expected[text].count || cosineSimilarity(vector, expected[text]) < 0.99999 { wrong += 1 }
                    }
                    #expect(wrong == 0, "\(wrong) vectors were not their text's")
                    #expect(outcomes.count >= Self.answersBetweenDisruptions * (plan.count + 1))
                    let latencies = outcomes.map(\.seconds).sorted()
                    let p50 = latencies[latencies.count / 2], p99 = latencies[min(latencies.count - 1, latencies.count * 99 / 100)]
                    print(
                        "fleet: \(outcomes.count) requests in \(elapsed) s, \(failures.count) failed, \(wrong) wrong vectors; haproxy retries \(statistics.retries), redispatches \(statistics.redispatches); resent by the client \(resent.count)\(resent.isEmpty ? "" : " (\(resent[0].resentBecause ?? ""); haproxy: \(unusual.suffix(5).joined(separator: " | ")))"); p50 \(Int(p50 * 1000)) ms, p99 \(Int(p99 * 1000)) ms, max \(Int(latencies.last! * 1000)) ms; \(disruptions.joined(separator: "; "))"
                    )
                }
            }
        }

        /// `clients` concurrent clients each sending one request after another (1-3 texts) through
        /// haproxy until `control` says stop or the request limit is reached.
        static func runLoad(port: Int, clients: Int, control: LoadControl, announce: AsyncStream<Void>.Continuation) async throws -> [Outcome] {
            defer { announce.finish() }
            return try await withThrowingTaskGroup(of: [Outcome].self) { group in
                for client in 0..<clients {
                    group.addTask {
                        var outcomes: [Outcome] = []
                        var next = client
                        while control.mayContinue(limit: requestLimit) {
                            let chosen = (0..<(1 + next % 3)).map { (next * 5 + $0 * 11) % texts.count }
                            next += clients
                            outcomes.append(try await embed(chosen, port: port))
                            announce.yield()
                        }
                        return outcomes
                    }
                }
                var all: [Outcome] = []
                for try await outcomes in group { all += outcomes }
                return all
            }
        }

        /// Embeds the texts at `indices` through `port`, sending the request once more if the
        /// connection closed without an answer or haproxy answered 503 (every try of its own landed
        /// on an instance starting or draining), as OpenAI's and most HTTP clients' retry policies
        /// do for an idempotent request; a second failure is an outcome, not a throw.
        static func embed(_ indices: [Int], port: Int) async throws -> Outcome {
            let first = try await attempt(indices, port: port)
            guard first.status == 0 || first.status == 503 else { return first }
            var second = try await attempt(indices, port: port)
            second.resentBecause = "\(first.status) \(first.failure ?? "")"
            return second
        }

        static func attempt(_ indices: [Int], port: Int) async throws -> Outcome {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/embeddings")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: ["input": indices.map { texts[$0] }])))
            let start = ContinuousClock.now
            do {
                let response = try await client.execute(request, timeout: .seconds(120))
                let body = Data((try await response.body.collect(upTo: 16 << 20)).readableBytesView)
                let seconds = (ContinuousClock.now - start).seconds
                guard response.status == .ok else {
                    return Outcome(texts: indices, status: response.status.code, vectors: [], seconds: seconds, failure: String(decoding: body, as: UTF8.self))
                }
                let json = try JSONSerialization.jsonObject(with: body) as? [String: Any]
                let data = (json?["data"] as? [[String: Any]]) ?? []
                let vectors = data.map { (($0["embedding"] as? [NSNumber]) ?? []).map(\.floatValue) }
                return Outcome(texts: indices, status: 200, vectors: vectors, seconds: seconds, failure: nil)
            } catch {
                return Outcome(texts: indices, status: 0, vectors: [], seconds: (ContinuousClock.now - start).seconds, failure: "\(error)")
            }
        }
    }
}

/// Tells the load's clients when to stop: when the test says so, or at the request limit.
final class LoadControl: Sendable {
    private let stopped = Atomic<Bool>(false)
    private let sent = Atomic<Int>(0)

    func stop() { stopped.store(true, ordering: .relaxed) }

    /// Whether a client may send one more request (and counts it if so).
    func mayContinue(limit: Int) -> Bool {
        !stopped.load(ordering: .relaxed) && sent.wrappingAdd(1, ordering: .relaxed).newValue <= limit
    }
}
