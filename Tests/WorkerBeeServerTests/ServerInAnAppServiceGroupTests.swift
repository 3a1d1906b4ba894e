import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing
import WorkerBee
import WorkerBeeServer
import WorkerBeeTestSupport

@Suite(.timeLimit(.minutes(5))) struct ServerInAnAppServiceGroupTests {
    /// A service of the app's own that runs until graceful shutdown and remembers it.
    final class AppService: Service, Sendable {
        private let state = Atomic(false)
        var shutDown: Bool { state.load(ordering: .relaxed) }

        func run() async throws {
            try? await gracefulShutdown()
            state.store(true, ordering: .relaxed)
        }
    }

    @Test func anAppRunsTheServerInItsOwnServiceGroupAndShutsItDown() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let pool = WorkerPool(configuration: sandbox.configuration(), processes: 1, threadsPerProcess: 1)
        let server = EmbeddingServer(pool: pool, configuration: ServerConfiguration(host: "127.0.0.1", port: 0))
        let (ports, announce) = AsyncStream<Int>.makeStream()
        let app = AppService()
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: app)] + server.services { announce.yield($0) }, logger: Logger(label: "app")))
        let running = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        #expect(await server.waitUntilReadyOrBroken() == nil)

        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/embeddings")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: #"{"input": ["served inside an app"]}"#))
        let response = try await ServerHarness.client.execute(request, timeout: .seconds(60))
        #expect(response.status == .ok)
        let body = try await response.body.collect(upTo: 1 << 20)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any])
        #expect((json["data"] as? [Any])?.count == 1)
        let pid = try #require(await pool.workers[0].pid)

        await group.triggerGracefulShutdown()
        try await running.value
        #expect(app.shutDown)
        #expect(ProcessProbe.isGone(pid), "the workers stop with the app's group")
    }
}
