import Foundation
import Testing
import WorkerBee
import WorkerBeeFixtures
import WorkerBeeTestSupport

extension Deployment {
    /// `workerbee embed --server`: a bulk job sent to running servers writes what a local job writes,
    /// in the same order, whatever happens to a server or to the client.
    @Suite(.serialized) struct EmbedOnServersTests {
        /// A scratch folder with the job's input file of `count` texts (JSON strings, one per line).
        struct Job {
            let directory: URL
            let input: URL
            let output: URL

            init(count: Int, poison: Int? = nil) throws {
                directory = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-embed-servers-\(UUID().uuidString)")
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                input = directory.appendingPathComponent("texts.jsonl")
                output = directory.appendingPathComponent("vectors.jsonl")
                let texts = (0..<count).map { $0 == poison ? EmbedOnServersTests.poison : "Document \($0) tells of \(["tides", "engines", "orchards", "glaciers", "markets"][$0 % 5]) and the number \($0 * 13)." }
                let lines = try texts.map { String(decoding: try JSONSerialization.data(withJSONObject: $0, options: .fragmentsAllowed), as: UTF8.self) }
                try (lines.joined(separator: "\n") + "\n").write(to: input, atomically: true, encoding: .utf8)
            }

            /// The output file's complete lines: each index with its vector, or nil for an error line.
            func written() throws -> [(index: Int, vector: [Float]?)] {
                let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
                return try text.split(separator: "\n", omittingEmptySubsequences: true).map { line in
                    let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                    return (try #require(object["index"] as? NSNumber).intValue, (object["embedding"] as? [NSNumber])?.map(\.floatValue))
                }
            }

            /// Complete lines in the output so far. Polled while the job runs, so it counts newlines
            /// with memchr rather than decoding megabytes of text on a cooperative thread.
            var writtenCount: Int {
                guard let data = try? Data(contentsOf: output) else { return 0 }
                return data.withUnsafeBytes { raw -> Int in
                    guard let base = raw.baseAddress else { return 0 }
                    var count = 0, offset = 0
                    while offset < raw.count, let hit = memchr(base + offset, 0x0A, raw.count - offset) {
                        count += 1
                        offset = base.distance(to: UnsafeRawPointer(hit)) + 1
                    }
                    return count
                }
            }

            func remove() { try? FileManager.default.removeItem(at: directory) }
        }

        static let poison = "this text crashes the worker every time"

        /// The vectors a local `workerbee embed` writes for the job's input.
        static func localVectors(_ job: Job) async throws -> [[Float]] {
            let run = try await CommandRun.run(["embed", "--input", job.input.path])
            #expect(run.status == 0, "\(run.stderr)")
            return try run.embeddings.map(\.vector)
        }

        static func expectSame(_ written: [(index: Int, vector: [Float]?)], as local: [[Float]], skipping: Set<Int> = []) {
            #expect(written.map(\.index) == Array(local.indices), "every text once, in input order")
            for (index, vector) in written {
                if skipping.contains(index) {
                    #expect(vector == nil, "text \(index) has an error line")
                } else {
                    #expect(vector?.count == local[index].count && cosineSimilarity(vector ?? [], local[index]) >= 0.99999, "text \(index)'s vector is its local one")
                }
            }
        }

        /// Runs `body` with `count` started servers, and stops them afterwards (also those already
        /// started when a later one fails to start).
        static func withServers(
            _ count: Int, in directory: URL, arguments: [String] = [], environment: [String: String] = [:],
            _ body: ([ServeProcess]) async throws -> Void
        ) async throws {
            let servers = try (0..<count).map { _ in try ServeProcess(port: try freeLoopbackPort(), directory: directory, arguments: arguments, environment: environment) }
            try await withCleanup({ for server in servers { await server.stop() } }) {
                for server in servers { try await server.start() }
                try await body(servers)
            }
        }

        @Test(.timeLimit(.minutes(10))) func aJobOnTwoServersWhenOneIsKilledMidJobWritesTheLocalVectorsInOrder() async throws {
            let job = try Job(count: 1_000)
            defer { job.remove() }
            let local = try await Self.localVectors(job)
            try await Self.withServers(2, in: job.directory) { servers in
                let arguments = ["embed", "--input", job.input.path, "--output", job.output.path, "--batch-size", "8"] + servers.flatMap { ["--server", "http://127.0.0.1:\($0.port)"] }
                let client = Task { try await CommandRun.run(arguments) }
                // Mid-job: once a tenth of the texts are written, the first server dies whole.
                #expect(await ProcessProbe.poll(timeout: .seconds(300)) { job.writtenCount >= 100 }, "the job is under way")
                #expect(job.writtenCount < 1_000, "the job was still running when the server was killed")
                await servers[0].send(SIGKILL)
                let run = try await client.value
                #expect(run.status == 0, "\(run.stderr)")
                #expect(run.stderr.contains("was sent again to another server"), "the killed server's pieces went to the other: \(run.stderr)")
                Self.expectSame(try job.written(), as: local)
            }
        }

        @Test(.timeLimit(.minutes(10))) func aJobWhoseClientIsKilledResumesWhereItStopped() async throws {
            let job = try Job(count: 600)
            defer { job.remove() }
            let local = try await Self.localVectors(job)
            try await Self.withServers(1, in: job.directory) { servers in
                let arguments = ["embed", "--input", job.input.path, "--output", job.output.path, "--batch-size", "8", "--server", "http://127.0.0.1:\(servers[0].port)"]
                let (pids, announce) = AsyncStream<Int32>.makeStream()
                let first = Task { try await CommandRun.run(arguments, onStart: { announce.yield($0) }) }
                var iterator = pids.makeAsyncIterator()
                let pid = try #require(await iterator.next())
                #expect(await ProcessProbe.poll(timeout: .seconds(300)) { job.writtenCount >= 100 }, "the job is under way")
                kill(pid, SIGKILL)
                let killed = try await first.value
                #expect(killed.status == 128 + SIGKILL)
                let done = try job.written().count
                #expect(done < 600, "the client was killed before the end")
                let resumed = try await CommandRun.run(arguments + ["--resume"])
                #expect(resumed.status == 0, "\(resumed.stderr)")
                #expect(resumed.stderr.contains("resuming"), "\(resumed.stderr)")
                Self.expectSame(try job.written(), as: local)
            }
        }

        @Test(.timeLimit(.minutes(10))) func aTextThatCrashesTheServersWorkerEveryTimeGetsAnErrorLineAloneWithOnErrorSkip() async throws {
            let job = try Job(count: 24, poison: 13)
            defer { job.remove() }
            let clean = try Job(count: 24)
            defer { clean.remove() }
            let local = try await Self.localVectors(clean)
            try await Self.withServers(1, in: job.directory, environment: ["WORKERBEE_FAULT": "embed-text=\(Self.poison):abort"]) { servers in
                let run = try await CommandRun.run(
                    ["embed", "--input", job.input.path, "--output", job.output.path, "--batch-size", "8", "--on-error", "skip", "--server", "http://127.0.0.1:\(servers[0].port)"])
                #expect(run.status == 0, "\(run.stderr)")
                #expect(run.stderr.contains("1 text(s) crash the worker"), "\(run.stderr)")
                Self.expectSame(try job.written(), as: local, skipping: [13])
            }
        }

        @Test(.timeLimit(.minutes(5))) func aServerThatRefusesTheKeyStopsTheJobWithTheReason() async throws {
            let job = try Job(count: 4)
            defer { job.remove() }
            try await Self.withServers(1, in: job.directory, arguments: ["--api-key", "sesame"]) { servers in
                let refused = try await CommandRun.run(["embed", "--input", job.input.path, "--server", "http://127.0.0.1:\(servers[0].port)"])
                #expect(refused.status != 0)
                #expect(refused.stderr.contains("401"), "\(refused.stderr)")
                let accepted = try await CommandRun.run(["embed", "--input", job.input.path, "--server", "http://127.0.0.1:\(servers[0].port)", "--api-key", "sesame"])
                #expect(accepted.status == 0, "\(accepted.stderr)")
                #expect(try accepted.embeddings.count == 4)
            }
        }

        @Test(.timeLimit(.minutes(5))) func aJobNoServerAnswersStopsAfterTheGiveUpTimeSayingSo() async throws {
            let job = try Job(count: 4)
            defer { job.remove() }
            let nobody = try freeLoopbackPort()
            let run = try await CommandRun.run(["embed", "--input", job.input.path, "--give-up-after", "1", "--server", "http://127.0.0.1:\(nobody)"], timeout: .seconds(120))
            #expect(run.status != 0)
            #expect(run.stderr.contains("no server answered for"), "\(run.stderr)")
        }
    }
}
