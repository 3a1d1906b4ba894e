import Foundation
import HTTPTypes
import Hummingbird
import Logging
import WorkerBee

/// Wraps every request: its id (`X-Request-Id`, echoed or made), the API key check, errors in
/// the shape of the API that was called, the per-route metrics and one access-log line.
struct AccessMiddleware: RouterMiddleware {
    typealias Context = ServerRequestContext

    static var requestIDHeader: HTTPField.Name { HTTPField.Name("X-Request-Id")! }

    let apiKey: String?
    let metrics: ServerMetrics
    let logger: Logger

    /// The routes that answer without a key: the probes and the metrics.
    static func isOpen(_ path: String) -> Bool { path == "/health" || path == "/ready" || path == "/metrics" }

    /// Which API's error shape a path speaks.
    static func dialect(_ path: String) -> APIError.Dialect {
        if path.hasPrefix("/v1/") { return .openAI }
        if path.hasPrefix("/api/") { return .ollama }
        return .plain
    }

    /// The route label for metrics: the known paths, or "other" (unbounded paths would make
    /// unbounded series).
    static func route(_ path: String) -> String {
        let known: Set<String> = ["/v1/embeddings", "/v1/models", "/api/embed", "/api/embeddings", "/api/tags", "/tokenize", "/v1/ocr", "/v1/rerank", "/v1/reranking", "/rerank", "/api/ps", "/health", "/ready", "/metrics"]
        return known.contains(path) ? path : "other"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let path = request.uri.path
        let id = request.headers[Self.requestIDHeader].flatMap { $0.isEmpty || $0.count > 200 ? nil : $0 } ?? Self.makeID()
        let dialect = Self.dialect(path)
        var response: Response
        if let apiKey, !Self.isOpen(path), request.headers[.authorization] != "Bearer \(apiKey)" {
            response = APIError(.unauthorized, "missing or wrong API key: send Authorization: Bearer KEY", type: "invalid_request_error", code: "invalid_api_key").response(dialect)
        } else {
            do {
                // Handlers below see the id too (for their own log lines).
                var context = context
                context.requestID = id
                response = try await next(request, context)
            } catch let error as APIError {
                response = error.response(dialect)
            } catch let error as any HTTPResponseError {
                let message = error.status == .contentTooLarge ? "the request body is larger than the server accepts" : (error.status.reasonPhrase)
                response = APIError(error.status, message, type: error.status.code >= 500 ? "server_error" : "invalid_request_error").response(dialect)
            } catch {
                response = APIError.from(error).response(dialect)
            }
        }
        response.headers[Self.requestIDHeader] = id
        let elapsed = ContinuousClock.now - started
        metrics.request(route: Self.route(path), status: Int(response.status.code), duration: elapsed)
        logger.info(
            "\(request.method) \(path) \(response.status.code)",
            metadata: ["request_id": "\(id)", "ms": "\(String(format: "%.1f", elapsed.seconds * 1000))"])
        return response
    }

    private static func makeID() -> String {
        String(UInt64.random(in: 0...UInt64.max), radix: 16)
    }
}
