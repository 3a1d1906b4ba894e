import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Testing
import WorkerBee
import WorkerBeeServer
import WorkerBeeTestSupport

/// A real `EmbeddingServer` on a loopback port the system picks, with real workers running the
/// default model, and an HTTP client for it.
struct ServerHarness {
    let sandbox: WorkerSandbox
    let server: EmbeddingServer
    let port: Int
    let task: Task<Void, any Error>
    /// One connection per concurrent request (the load tests send up to 80 at once), and a long
    /// wait for a connection: on a busy machine requests queue behind worker restarts, and AHC's
    /// default (8 connections, 10 s to get one) failed a load test with
    /// `getConnectionFromPoolTimeout` although the server answered every request.
    static let client = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: .init(
            timeout: .init(connect: .seconds(120)),
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 96)))

    /// Starts a server and waits until it listens and is ready.
    static func start(
        waitForReady: Bool = true, _ configure: (inout ServerConfiguration) -> Void = { _ in }, workers: Int = 2,
        workerConfiguration: (inout WorkerConfiguration) -> Void = { _ in }, logger: Logger = Logger(label: "workerbee.server")
    ) async throws -> ServerHarness {
        let sandbox = try WorkerSandbox()
        var serverConfiguration = ServerConfiguration(host: "127.0.0.1", port: 0)
        configure(&serverConfiguration)
        var configuration = sandbox.configuration(embedTimeout: .seconds(60))
        workerConfiguration(&configuration)
        let pool = WorkerPool(configuration: configuration, processes: workers, threadsPerProcess: 1)
        let server = EmbeddingServer(pool: pool, configuration: serverConfiguration, logger: logger)
        let (ports, announce) = AsyncStream<Int>.makeStream()
        let task = Task { try await server.run(gracefulShutdownSignals: []) { announce.yield($0) } }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        let harness = ServerHarness(sandbox: sandbox, server: server, port: port, task: task)
        if waitForReady { try await harness.waitUntilReady() }
        return harness
    }

    /// Waits for the server to report ready (the workers have loaded the model), and checks
    /// that `/ready` says so.
    func waitUntilReady() async throws {
        let problem = await server.waitUntilReadyOrBroken()
        #expect(problem == nil, "the server is not ready: \(problem ?? "")")
        #expect(try await get("/ready").status == .ok)
    }

    /// Stops the server (graceful shutdown) and removes the sandbox.
    func stop() async {
        await server.shutdown()
        _ = await task.result
        sandbox.remove()
    }

    struct Reply {
        let status: HTTPResponseStatus
        let headers: HTTPHeaders
        let body: Data

        var json: [String: Any] {
            get throws { try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any], "not a JSON object: \(String(decoding: body, as: UTF8.self))") }
        }

        /// OpenAI's `data[i].embedding` as floats.
        var openAIVectors: [[Float]] {
            get throws {
                let data = try #require(try json["data"] as? [[String: Any]])
                return try data.map { try #require($0["embedding"] as? [NSNumber]).map(\.floatValue) }
            }
        }
    }

    func get(_ path: String, headers: [(String, String)] = []) async throws -> Reply {
        try await send("GET", path, body: nil, headers: headers)
    }

    func post(_ path: String, json: Any, headers: [(String, String)] = []) async throws -> Reply {
        try await send("POST", path, body: try JSONSerialization.data(withJSONObject: json), headers: headers)
    }

    func post(_ path: String, raw: Data, headers: [(String, String)] = []) async throws -> Reply {
        try await send("POST", path, body: raw, headers: headers)
    }

    /// A POST whose client will hang up: it runs in the returned task, which the test cancels
    /// (async-http-client then closes the connection). `requestID` names it in the access log.
    func postToAbandon(_ path: String, body: Data, contentType: String, requestID: String) -> Task<HTTPClientResponse, any Error> {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: contentType)
        request.headers.add(name: "X-Request-Id", value: requestID)
        request.body = .bytes(ByteBuffer(data: body))
        return Task { try await Self.client.execute(request, timeout: .seconds(120)) }
    }

    func send(_ method: String, _ path: String, body: Data?, headers: [(String, String)]) async throws -> Reply {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = HTTPMethod(rawValue: method)
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
            if !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
                request.headers.add(name: "Content-Type", value: "application/json")
            }
        }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await Self.client.execute(request, timeout: .seconds(120))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return Reply(status: response.status, headers: response.headers, body: Data(buffer: bytes))
    }
}

/// The vectors the default model gives `texts`, from a worker without the server.
func referenceVectors(_ texts: [String]) async throws -> [[Float]] {
    let sandbox = try WorkerSandbox()
    defer { sandbox.remove() }
    let worker = WorkerProcess(configuration: sandbox.configuration())
    return try await withCleanup({ await worker.stop() }) {
        return try await worker.embed(.texts(texts)).vectors
    }
}
