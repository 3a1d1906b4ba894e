import Foundation
import Testing
import Tracing
import WorkerBee
import WorkerBeeServer

/// `workerbee serve --otlp-endpoint`: a real server with a real worker exports its spans to an
/// OTLP/HTTP receiver in the test. Each server has its own tracer (nothing is bootstrapped
/// process-wide), so these tests run in parallel with each other and with the other suites.
@Suite(.timeLimit(.minutes(5))) struct TracingTests {
    static let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
    static let callerSpanID = "00f067aa0ba902b7"
    static let traceparent = "00-\(traceID)-\(callerSpanID)-01"

    @Test func aRequestsSpansJoinTheCallersTraceAndReachTheCollectorByShutdown() async throws {
        let receiver = try await OTLPReceiver.start()
        let harness = try await ServerHarness.start({ $0.traceExport = TraceExport(endpoint: "http://127.0.0.1:\(receiver.port)") }, workers: 1)
        let reply = try await harness.post(
            "/v1/embeddings", json: ["input": ["a traced sentence", "and another one"]], headers: [("traceparent", Self.traceparent)])
        #expect(reply.status == .ok)
        let pid = try #require(await harness.server.pool.workers[0].pid)
        // The spans wait in the exporter's batch (5 s); a graceful shutdown sends them before it ends.
        await harness.stop()
        let spans = await receiver.stopAndCollect().filter { $0.traceID == Self.traceID }
        let names = spans.map(\.name)

        let request = try #require(spans.first { $0.kind == ReceivedSpan.serverKind }, "no request span among \(names)")
        #expect(request.name == "POST /v1/embeddings")
        #expect(request.parentSpanID == Self.callerSpanID, "the request span's parent is the caller's span from traceparent")
        #expect(request.attributes["http.route"] == "/v1/embeddings")
        #expect(request.attributes["http.response.status_code"] == "200")
        #expect(request.attributes["workerbee.model"] == harness.server.configuration.modelName)
        #expect(request.attributes["workerbee.inputs"] == "2")

        let byID = Dictionary(spans.map { ($0.spanID, $0) }, uniquingKeysWith: { first, _ in first })
        /// Whether the request span is among `span`'s ancestors.
        func descendsFromRequest(_ span: ReceivedSpan) -> Bool {
            var parent = byID[span.parentSpanID]
            while let ancestor = parent {
                if ancestor.spanID == request.spanID { return true }
                parent = byID[ancestor.parentSpanID]
            }
            return false
        }
        let queueWait = try #require(spans.first { $0.name == "queue wait" }, "no queue wait span among \(names)")
        #expect(descendsFromRequest(queueWait))
        #expect(queueWait.attributes["workerbee.texts"] == "2")
        let batch = try #require(spans.first { $0.name == "batch" }, "no batch span among \(names)")
        #expect(descendsFromRequest(batch))
        #expect(batch.attributes["workerbee.batch.texts"] == "2")
        #expect(batch.attributes["workerbee.batch.kind"] == "embed")
        #expect(Int(batch.attributes["workerbee.batch.tokens"] ?? "") ?? 0 > 0)
        #expect(queueWait.links.contains { $0.spanID == batch.spanID }, "the queue wait links to the batch that took its texts")
        let exchange = try #require(spans.first { $0.name == "worker exchange" }, "no worker exchange span among \(names)")
        #expect(exchange.parentSpanID == batch.spanID)
        #expect(exchange.kind == ReceivedSpan.clientKind)
        #expect(exchange.attributes["workerbee.worker.pid"] == String(pid))
        #expect(exchange.attributes["workerbee.worker.items"] == "2")
    }

    @Test func aBatchSentAgainAfterItsWorkerCrashedIsARetrySpan() async throws {
        let receiver = try await OTLPReceiver.start()
        let once = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-trace-fault-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: once) }
        let harness = try await ServerHarness.start({ $0.traceExport = TraceExport(endpoint: "http://127.0.0.1:\(receiver.port)") }, workers: 1) {
            // The worker crashes on the first batch that holds this text, once.
            $0.launch.environment["WORKERBEE_FAULT"] = "embed-text=crash here once:segv"
            $0.launch.environment["WORKERBEE_FAULT_ONCE"] = once.path
        }
        let reply = try await harness.post(
            "/v1/embeddings", json: ["input": ["crash here once", "a bystander"]], headers: [("traceparent", Self.traceparent)])
        #expect(reply.status == .ok)
        await harness.stop()
        let spans = await receiver.stopAndCollect().filter { $0.traceID == Self.traceID }
        let names = spans.map(\.name)

        let batch = try #require(spans.first { $0.name == "batch" }, "no batch span among \(names)")
        let lost = spans.filter { $0.name == "worker exchange" && $0.parentSpanID == batch.spanID }
        #expect(lost.count == 1 && lost.first?.statusCode == 2, "the exchange that lost its worker is an error")
        let retries = spans.filter { $0.name == "retry" }
        #expect(!retries.isEmpty, "no retry span among \(names)")
        for retry in retries {
            #expect(retry.parentSpanID == batch.spanID)
            #expect(retry.attributes["workerbee.retry.reason"]?.contains("exited unexpectedly") == true, "\(retry.attributes)")
            #expect(spans.contains { $0.name == "worker exchange" && $0.parentSpanID == retry.spanID && $0.statusCode != 2 })
        }
        #expect(retries.compactMap { Int($0.attributes["workerbee.retry.texts"] ?? "") }.reduce(0, +) == 2, "both texts were sent again")
    }

    @Test func withoutAnEndpointNoExporterRunsAndNothingIsSent() async throws {
        let receiver = try await OTLPReceiver.start()
        let harness = try await ServerHarness.start(workers: 1)
        #expect(harness.server.configuration.traceExport == nil)
        let reply = try await harness.post("/v1/embeddings", json: ["input": ["not traced"]], headers: [("traceparent", Self.traceparent)])
        #expect(reply.status == .ok)
        // A server with an exporter sends its spans by the end of its graceful shutdown.
        await harness.stop()
        #expect(await receiver.stopAndCollect().isEmpty)
        #expect(InstrumentationSystem.tracer is NoOpTracer, "no server bootstrapped a process-wide tracer")
    }
}
