import HTTPTypes
import Hummingbird
import Tracing

/// Wraps every request (but `/health`, `/ready` and `/metrics`) in a server span, the parent of
/// the spans its work makes: its queue wait, the batches its texts go in, their worker exchanges
/// (docs/SERVER.md, "Traces").
///
/// The span continues the trace of an incoming W3C `traceparent` header (its trace id, and the
/// caller's span as parent), or starts a trace. With a tracer of the server's own (an OTLP
/// endpoint), the request runs with that tracer bound to its task (`withTracer`), so the library's
/// spans below go to it too, whatever the process's `InstrumentationSystem` holds; without one,
/// spans go to the `InstrumentationSystem` tracer, a no-op unless the app bootstrapped one.
///
/// Hummingbird's own `TracingMiddleware` would do the extraction too, but it cannot give handlers
/// its span (for the model and input count) and does not know the server's tracer; hence this
/// one, outside ``AccessMiddleware`` so that it records the status the client gets.
struct RequestTracingMiddleware: RouterMiddleware {
    typealias Context = ServerRequestContext

    /// The span of the request the current task serves, for handlers to record what they learn
    /// (``record(model:inputs:)``).
    @TaskLocal static var span: (any Span)?

    /// The server's own tracer, or nil for the process's.
    let tracer: (any Tracer)?

    /// Records the model a request uses and how many inputs it has on its span.
    static func record(model: String, inputs: Int) {
        guard let span, span.isRecording else { return }
        span.updateAttributes { attributes in
            attributes["workerbee.model"] = model
            attributes["workerbee.inputs"] = inputs
        }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // Probes and scrapes (a Kubernetes probe every few seconds) would each be a trace of one
        // span that says nothing.
        if AccessMiddleware.isOpen(request.uri.path) { return try await next(request, context) }
        guard let tracer else { return try await traced(request, context: context, next: next) }
        return try await withTracer(tracer) { try await traced(request, context: context, next: next) }
    }

    private nonisolated(nonsending) func traced(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var parent = ServiceContext.current ?? .topLevel
        InstrumentationSystem.instrument.extract(request.headers, into: &parent, using: HeaderExtractor())
        let route = AccessMiddleware.route(request.uri.path)
        let span = startSpan("\(request.method.rawValue) \(route)", context: parent, ofKind: .server)
        defer { span.end() }
        if span.isRecording {
            span.updateAttributes { attributes in
                attributes["http.request.method"] = request.method.rawValue
                attributes["http.route"] = route
                attributes["url.path"] = request.uri.path
            }
        }
        do {
            let response = try await ServiceContext.withValue(span.context) {
                try await Self.$span.withValue(span) { try await next(request, context) }
            }
            if span.isRecording {
                span.updateAttributes { attributes in
                    attributes["http.response.status_code"] = Int(response.status.code)
                    attributes["workerbee.request_id"] = response.headers[AccessMiddleware.requestIDHeader]
                }
                // As OpenTelemetry's HTTP conventions say for a server: only 5xx is an error.
                if response.status.code >= 500 { span.setStatus(SpanStatus(code: .error)) }
            }
            return response
        } catch {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error))
            throw error
        }
    }
}

/// Reads propagation headers (`traceparent`, `tracestate`) from a request.
private struct HeaderExtractor: Extractor {
    func extract(key: String, from headers: HTTPFields) -> String? {
        HTTPField.Name(key).flatMap { headers[$0] }
    }
}
