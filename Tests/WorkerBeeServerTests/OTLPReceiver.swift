import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// An OpenTelemetry collector for tests: an HTTP server on 127.0.0.1, on a port the system picks,
/// that takes OTLP/HTTP protobuf posts to `/v1/traces` and hands every span in them to ``spans``
/// before it answers (so a span an exporter has sent is in the stream when its post returns).
final class OTLPReceiver: Sendable {
    /// The port it listens on.
    let port: Int
    /// Every span received, in order; it ends after ``stop()``.
    let spans: AsyncStream<ReceivedSpan>
    private let group: ServiceGroup
    private let running: Task<Void, any Error>
    private let received: AsyncStream<ReceivedSpan>.Continuation

    /// Starts a receiver and waits until it listens.
    static func start() async throws -> OTLPReceiver {
        let (spans, received) = AsyncStream<ReceivedSpan>.makeStream()
        let router = Router()
        router.post("/v1/traces") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 64 << 20)
            for span in try ReceivedSpan.spans(inExportRequest: Array(body.readableBytesView)) { received.yield(span) }
            // An empty ExportTraceServiceResponse: everything accepted.
            return Response(status: .ok, headers: [.contentType: "application/x-protobuf"], body: .init(byteBuffer: ByteBuffer()))
        }
        let (ports, announce) = AsyncStream<Int>.makeStream()
        let logger = Logger(label: "otlp-receiver")
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { announce.yield($0.localAddress?.port ?? 0) }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let running = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        return OTLPReceiver(port: port, spans: spans, received: received, group: group, running: running)
    }

    private init(port: Int, spans: AsyncStream<ReceivedSpan>, received: AsyncStream<ReceivedSpan>.Continuation, group: ServiceGroup, running: Task<Void, any Error>) {
        self.port = port
        self.spans = spans
        self.received = received
        self.group = group
        self.running = running
    }

    /// Stops listening and ends ``spans`` after the spans received.
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = await running.result
        received.finish()
    }

    /// Stops the receiver and gives every span it received.
    func stopAndCollect() async -> [ReceivedSpan] {
        await stop()
        return await spans.reduce(into: []) { $0.append($1) }
    }
}
