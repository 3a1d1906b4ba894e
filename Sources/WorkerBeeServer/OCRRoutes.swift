import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import WorkerBee
import WorkerBeeWire
import WorkerBeeDocuments
import WorkerBeeModels

/// `POST /v1/ocr`: a PNG, JPEG or PDF in (the raw body with its content type, or a
/// `multipart/form-data` upload), the text of each page out: from a PDF page's text layer when it
/// has one, else read by Tesseract or the pool's vision model.
///
/// Parameters come from the query string or, in a form, from fields of the same names:
/// `engine` (`auto`: the vision model if the server has one, else Tesseract; `tesseract`;
/// `vision`), `model` (a vision model in the models folder other than the server's, loaded on
/// demand in workers of its own), `lang` (Tesseract's, default `eng`), `force_ocr` (`true`: ignore text layers),
/// `prompt` (the vision instruction; default: transcribe the page as Markdown), `max_tokens` (per
/// page; default up to the context) and `dpi` (PDF rasterization, default 300 for Tesseract, 150 for a vision model). Pages are read one after
/// at once over the pool's workers (one per worker ahead), answered in order. A failed page of a PDF is reported in its place (and
/// counted in `X-Failed-Pages`); a request whose every page fails gets the error status.
struct OCRRoutes: Sendable {
    let pool: WorkerPool
    /// Vision models a request names other than the server's.
    let models: ModelPools
    let configuration: ServerConfiguration
    let readiness: Readiness

    /// The header counting the pages that could not be read.
    static let failedPagesHeader = HTTPField.Name("X-Failed-Pages")!

    /// The document and the parameters of one request.
    struct Upload {
        var document: Data
        var prompt: String?
        var maxTokens = 0
        var dpi: Int?
        var engine = "auto"
        var language = "eng"
        var forceOCR = false
        /// A vision model other than the server's, by name in the models folder.
        var model: ModelReference?
    }

    func ocr(_ request: Request, body: ByteBuffer) async throws -> Response {
        let upload = try Self.upload(request, body: Data(buffer: body))
        let configured = pool.configuration.models.vision.flatMap { $0.description.isEmpty ? nil : $0 }
        let vision = upload.model ?? configured
        let useVision: Bool
        switch upload.engine {
        case "vision":
            guard vision != nil else {
                throw APIError(.notFound, "this server has no vision model: start it with --vision-model NAME, or use engine=tesseract (see docs/VISION.md)", param: "model", code: "model_not_found")
            }
            useVision = true
        case "tesseract": useVision = false
        case "auto": useVision = vision != nil
        default: throw APIError.badRequest("engine must be auto, tesseract or vision", param: "engine")
        }
        if let model = upload.model {
            guard useVision else {
                throw APIError.badRequest("model names a vision model; engine=tesseract takes none", param: "model")
            }
            guard !ModelDirectory.isPath(model.description),
                  FileManager.default.fileExists(atPath: ModelDirectory(url: pool.configuration.models.directory).resolve(model).path) else {
                throw APIError(.notFound, "the vision model \(model) does not exist in the models folder", param: "model", code: "model_not_found")
            }
        }
        if case .draining = readiness.current {
            var error = APIError(.serviceUnavailable, "the server is shutting down", type: "server_error", code: "not_ready")
            error.retryAfter = 1
            throw error
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-ocr-\(UUID().uuidString)")
        defer { DocumentPages.discard(scratch: scratch) }
        let pages: DocumentPages
        do {
            pages = try await DocumentPages.open(upload.document, dpi: upload.dpi ?? (useVision ? 150 : 300), grayscale: !useVision, scratch: scratch)
        } catch let error as DocumentError {
            switch error.code {
            case .unsupportedType: throw APIError(.unsupportedMediaType, error.message, param: "file", code: "unsupported_document")
            case .unreadable, .notFound: throw APIError(.badRequest, error.message, param: "file", code: "unreadable_document")
            case .toolMissing, .toolFailed: throw APIError(.internalServerError, error.message, type: "server_error", code: "rasterizer")
            }
        }
        guard pages.count > 0 else {
            throw APIError(.badRequest, "the PDF has no pages", param: "file", code: "unreadable_document")
        }
        guard pages.count <= configuration.maxOCRPages else {
            throw APIError(.contentTooLarge, "the document has \(pages.count) pages; this server reads at most \(configuration.maxOCRPages) per request", param: "file", code: "too_many_pages")
        }

        if let model = upload.model, useVision, model != configured {
            // Another vision model than the server's: in workers of its own, loaded on demand.
            return try await models.withPool(for: model, kind: .vision) { other in
                try await readPages(pages, upload: upload, useVision: true, name: model.displayName, with: other)
            }
        }
        return try await readPages(pages, upload: upload, useVision: useVision, name: useVision ? vision?.displayName ?? "" : "tesseract", with: pool)
    }

    /// Reads every page with `pool`'s workers, up to one per worker ahead, in order.
    private func readPages(_ pages: DocumentPages, upload: Upload, useVision: Bool, name: String, with pool: WorkerPool) async throws -> Response {
        var entries: [[String: Any]] = []
        var failures: [any Error] = []
        var promptTokens = 0, generatedTokens = 0
        let engine: OCREngine = useVision ? .vision(.init(prompt: upload.prompt, maxTokens: upload.maxTokens > 0 ? upload.maxTokens : nil)) : .tesseract(language: upload.language)
        // Up to one page per worker (plus one being prepared) in flight, answered in order.
        var inFlight: [Task<PageReading, any Error>] = []
        var nextPage = 1
        // Cancelled (the client hung up): stop, and cancel the pages in flight.
        func stopIfCancelled() throws {
            guard Task.isCancelled else { return }
            for task in inFlight { task.cancel() }
            throw CancellationError()
        }
        for page in 1...pages.count {
            try stopIfCancelled()
            while nextPage <= pages.count && inFlight.count < pool.size + 1 {
                let wanted = nextPage
                inFlight.append(Task { try await pool.read(page: wanted, of: pages, engine: engine, preferTextLayer: !upload.forceOCR) })
                nextPage += 1
            }
            do {
                let current = inFlight.removeFirst()
                let reading = try await withTaskCancellationHandler { try await current.value } onCancel: { current.cancel() }
                promptTokens += reading.promptTokens ?? 0
                generatedTokens += reading.generatedTokens ?? 0
                entries.append(reading.fields.merging(["page": page, "pages": pages.count]) { $1 })
            } catch {
                try stopIfCancelled()
                failures.append(error)
                entries.append(["page": page, "pages": pages.count, "error": (error as? WorkerError)?.summary ?? "\(error)"])
            }
        }
        if failures.count == pages.count, let first = failures.first { throw APIError.from(first) }
        var response = JSONResponse.make([
            "object": "ocr", "model": name, "pages": entries,
            "usage": ["prompt_tokens": promptTokens, "completion_tokens": generatedTokens, "total_tokens": promptTokens + generatedTokens],
        ])
        response.headers[Self.failedPagesHeader] = "\(failures.count)"
        return response
    }

    /// Reads the document and parameters from a raw body or a form.
    static func upload(_ request: Request, body: Data) throws -> Upload {
        let contentType = request.headers[.contentType] ?? ""
        let query = request.uri.queryParameters
        var upload = Upload(document: body)
        var prompt = query.get("prompt"), maxTokens = query.get("max_tokens"), dpi = query.get("dpi")
        var engine = query.get("engine"), language = query.get("lang"), forceOCR = query.get("force_ocr"), model = query.get("model")
        if let boundary = MultipartForm.boundary(contentType: contentType) {
            let form = try MultipartForm(body: body, boundary: boundary)
            guard let file = form.file else {
                throw APIError.badRequest("the form has no file: send the document as a file field, e.g. curl -F file=@page.png", param: "file")
            }
            upload.document = file.body
            prompt = form.field("prompt") ?? prompt
            maxTokens = form.field("max_tokens") ?? maxTokens
            dpi = form.field("dpi") ?? dpi
            engine = form.field("engine") ?? engine
            language = form.field("lang") ?? language
            forceOCR = form.field("force_ocr") ?? forceOCR
            model = form.field("model") ?? model
        } else {
            let type = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            let accepted: Set<String> = ["image/png", "image/jpeg", "image/jpg", "image/x-portable-anymap", "image/x-portable-graymap", "image/x-portable-pixmap", "application/pdf", "application/octet-stream", ""]
            guard accepted.contains(type) else {
                throw APIError(.unsupportedMediaType, "send the document as image/png, image/jpeg, image/x-portable-anymap (PGM, PPM), application/pdf or multipart/form-data, not \(type)", code: "unsupported_document")
            }
        }
        guard !upload.document.isEmpty else { throw APIError.badRequest("the document is empty", param: "file") }
        upload.prompt = prompt.flatMap { $0.isEmpty ? nil : $0 }
        upload.engine = engine.flatMap { $0.isEmpty ? nil : $0.lowercased() } ?? "auto"
        upload.language = language.flatMap { $0.isEmpty ? nil : $0 } ?? "eng"
        upload.forceOCR = ["1", "true", "yes"].contains(forceOCR?.lowercased() ?? "")
        upload.model = model.flatMap { $0.isEmpty ? nil : ModelReference($0) }
        if let maxTokens {
            guard let value = Int(maxTokens), value >= 0 else { throw APIError.badRequest("max_tokens must be a whole number, 0 or more", param: "max_tokens") }
            upload.maxTokens = value
        }
        if let dpi {
            guard let value = Int(dpi), (10...1200).contains(value) else { throw APIError.badRequest("dpi must be between 10 and 1200", param: "dpi") }
            upload.dpi = value
        }
        return upload
    }
}
