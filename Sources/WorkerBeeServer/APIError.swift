import Foundation
import HTTPTypes
import Hummingbird
import WorkerBee

/// An error for an HTTP client, rendered in the shape of the API it called.
struct APIError: Error, Sendable {
    /// Which API's error shape to use.
    enum Dialect: Sendable {
        /// `{"error": {"message", "type", "param", "code"}}`
        case openAI
        /// `{"error": "message"}`
        case ollama
        /// `{"error": "message", "status": n}`
        case plain
    }

    let status: HTTPResponse.Status
    let message: String
    /// OpenAI's `type` (`invalid_request_error`, `server_error`, ...).
    let type: String
    let param: String?
    let code: String?
    var retryAfter: Int?

    init(_ status: HTTPResponse.Status, _ message: String, type: String = "invalid_request_error", param: String? = nil, code: String? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
    }

    static func badRequest(_ message: String, param: String? = nil) -> APIError {
        APIError(.badRequest, message, param: param)
    }

    /// The error for a failure of the workers.
    static func from(_ error: any Error) -> APIError {
        if let error = error as? APIError { return error }
        if error is CancellationError { return APIError(.serviceUnavailable, "the request was cancelled", type: "server_error") }
        guard let error = error as? WorkerError else {
            return APIError(.internalServerError, "\(error)", type: "server_error", code: "internal")
        }
        switch error.code {
        case .modelNotFound:
            return APIError(.notFound, error.message, param: "model", code: "model_not_found")
        case .invalidInput:
            return APIError(.badRequest, error.message, param: "input", code: "invalid_input")
        case .cannotEmbed, .cannotRerank:
            // A request that names (or falls back to) a model of the other kind.
            return APIError(.badRequest, error.message, param: "model", code: error.code == .cannotEmbed ? "model_cannot_embed" : "model_cannot_rerank")
        case .invalidModel, .modelCrashed, .loadFailed, .dimensionMismatch:
            return APIError(.internalServerError, error.summary, type: "server_error", code: error.code.name)
        default:
            return APIError(.internalServerError, error.summary, type: "server_error", code: error.code.name)
        }
    }

    /// The response in `dialect`'s shape.
    func response(_ dialect: Dialect) -> Response {
        let body: [String: Any]
        switch dialect {
        case .openAI:
            var error: [String: Any] = ["message": message, "type": type, "param": param ?? NSNull(), "code": code ?? NSNull()]
            if param == nil { error["param"] = NSNull() }
            body = ["error": error]
        case .ollama:
            body = ["error": message]
        case .plain:
            body = ["error": message, "status": Int(status.code)]
        }
        var response = JSONResponse.make(body, status: status)
        if let retryAfter { response.headers[.retryAfter] = "\(retryAfter)" }
        return response
    }
}
