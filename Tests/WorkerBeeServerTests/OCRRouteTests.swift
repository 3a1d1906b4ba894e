import Foundation
import NIOHTTP1
import Testing
import WorkerBee
import WorkerBeeServer
import WorkerBeeTestSupport
import WorkerBeeFixtures
import WorkerBeeDocuments

/// `POST /v1/ocr` on a real server whose pool has the generated tiny vision model (real libmtmd,
/// real workers). The tiny model's text is gibberish, but it is deterministic, so the server's
/// answer must equal what a worker gives for the same image.
@Suite(.serialized, .timeLimit(.minutes(10))) struct OCRRouteTests {
    /// A server whose pool reads images with the tiny vision model, and the model's files.
    static func start(_ configure: (inout ServerConfiguration) -> Void = { _ in }) async throws -> (ServerHarness, TinyModels.VisionModelFiles) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-ocr-route-\(UUID().uuidString)")
        let files = try TinyModels.writeVisionModel(to: folder)
        let harness = try await ServerHarness.start(configure, workers: 1) { configuration in
            configuration.models.vision = .file(files.model)
            configuration.models.visionProjector = files.projector
        }
        return (harness, files)
    }

    /// Stops the server and removes the model files.
    static func stop(_ server: ServerHarness, _ files: TinyModels.VisionModelFiles) async {
        await server.stop()
        try? FileManager.default.removeItem(at: files.model.deletingLastPathComponent())
    }

    /// What a worker of its own reads in `image` with at most `maxTokens` tokens.
    static func expectedText(_ image: Data, files: TinyModels.VisionModelFiles, maxTokens: Int) async throws -> String {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        var configuration = sandbox.configuration()
        configuration.models.vision = .file(files.model)
        configuration.models.visionProjector = files.projector
        let worker = WorkerProcess(configuration: configuration)
        return try await withCleanup({ await worker.stop() }) {
            return try await worker.readText(in: image, engine: .vision(.init(maxTokens: maxTokens))).text
        }
    }

    static func pages(_ reply: ServerHarness.Reply) throws -> [[String: Any]] {
        try #require(try reply.json["pages"] as? [[String: Any]], "no pages in \(String(decoding: reply.body, as: UTF8.self))")
    }

    @Test func aPNGPostedAsTheBodyIsReadAsAWorkerReadsIt() async throws {
        let (server, files) = try await Self.start()
        try await withCleanup({ await Self.stop(server, files) }) {
            let image = VisionSandbox.page(3)
            let expected = try await Self.expectedText(image, files: files, maxTokens: 6)
            let reply = try await server.post("/v1/ocr?max_tokens=6", raw: image, headers: [("Content-Type", "image/png")])
            #expect(reply.status == .ok, "\(String(decoding: reply.body, as: UTF8.self))")
            let pages = try Self.pages(reply)
            #expect(pages.count == 1)
            #expect(pages.first?["text"] as? String == expected)
            #expect(pages.first?["generatedTokens"] as? Int == 6)
            #expect((try reply.json["usage"] as? [String: Any])?["completion_tokens"] as? Int == 6)
            #expect(reply.headers.first(name: "X-Failed-Pages") == "0")
        }
    }

    @Test func aMultipartUploadIsReadLikeTheSameImageSentRaw() async throws {
        let (server, files) = try await Self.start()
        try await withCleanup({ await Self.stop(server, files) }) {
            let image = VisionSandbox.page(9)
            let raw = try await server.post("/v1/ocr?max_tokens=5", raw: image, headers: [("Content-Type", "image/png")])
            let boundary = "----workerbee-test-\(UUID().uuidString)"
            var form = Data()
            form.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"max_tokens\"\r\n\r\n5\r\n".utf8))
            form.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"page.png\"\r\nContent-Type: image/png\r\n\r\n".utf8))
            form.append(image)
            form.append(Data("\r\n--\(boundary)--\r\n".utf8))
            let multipart = try await server.post("/v1/ocr", raw: form, headers: [("Content-Type", "multipart/form-data; boundary=\(boundary)")])
            #expect(multipart.status == .ok, "\(String(decoding: multipart.body, as: UTF8.self))")
            let rawText = try Self.pages(raw).first?["text"] as? String
            #expect(rawText != nil)
            #expect(try Self.pages(multipart).first?["text"] as? String == rawText)
            #expect(try Self.pages(multipart).first?["generatedTokens"] as? Int == 5)
        }
    }

    @Test func aPDFGivesOneEntryPerPageInOrder() async throws {
        let (server, files) = try await Self.start()
        try await withCleanup({ await Self.stop(server, files) }) {
            let pdf = GeneratedPDF.make(pages: ["First page", "Second page", "Third page"])
            let reply = try await server.post("/v1/ocr?max_tokens=3&dpi=50&force_ocr=true", raw: pdf, headers: [("Content-Type", "application/pdf")])
            #expect(reply.status == .ok, "\(String(decoding: reply.body, as: UTF8.self))")
            let pages = try Self.pages(reply)
            #expect(pages.map { $0["page"] as? Int } == [1, 2, 3])
            #expect(pages.allSatisfy { $0["pages"] as? Int == 3 && $0["generatedTokens"] as? Int == 3 && $0["text"] is String && $0["source"] as? String == "vision" })
        }
    }

    @Test func badDocumentsAndParametersGetTheirStatus() async throws {
        let (server, files) = try await Self.start { $0.maxOCRPages = 2 }
        try await withCleanup({ await Self.stop(server, files) }) {
            let image = VisionSandbox.page()
            let cases: [(String, Data, String, HTTPResponseStatus, String)] = [
                ("/v1/ocr", Data("{\"image\": 1}".utf8), "application/json", .unsupportedMediaType, "multipart/form-data"),
                ("/v1/ocr", Data("plain words, not a picture".utf8), "application/octet-stream", .unsupportedMediaType, "not a PNG, JPEG, PGM, PPM or PDF"),
                ("/v1/ocr", Data(), "image/png", .badRequest, "empty"),
                ("/v1/ocr?max_tokens=-1", image, "image/png", .badRequest, "max_tokens"),
                ("/v1/ocr?dpi=5", image, "image/png", .badRequest, "dpi"),
                ("/v1/ocr?engine=magic", image, "image/png", .badRequest, "engine"),
                ("/v1/ocr", Data("%PDF-1.4 truncated".utf8), "application/pdf", .badRequest, "not a readable PDF"),
                ("/v1/ocr", GeneratedPDF.make(pages: ["a", "b", "c"]), "application/pdf", .payloadTooLarge, "at most 2"),
                ("/v1/ocr", GeneratedPDF.empty(), "application/pdf", .badRequest, "no pages"),
                ("/v1/ocr", GeneratedPDF.encrypted(), "application/pdf", .badRequest, "encrypted"),
                ("/v1/ocr", Data("--x\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nhi\r\n--x--\r\n".utf8), "multipart/form-data; boundary=x", .badRequest, "no file"),
            ]
            for (path, body, type, status, words) in cases {
                let reply = try await server.post(path, raw: body, headers: [("Content-Type", type)])
                #expect(reply.status == status, "\(path) \(type): \(String(decoding: reply.body, as: UTF8.self))")
                let error = try reply.json["error"] as? [String: Any]
                #expect((error?["message"] as? String)?.contains(words) == true, "\(path) \(type): \(String(decoding: reply.body, as: UTF8.self))")
            }
        }
    }

    @Test func aServerWithoutAVisionModelReadsPagesWithTesseractAndTextLayers() async throws {
        let server = try await ServerHarness.start(workers: 1)
        try await withCleanup({ await server.stop() }) {
            let scratch = server.sandbox.directory.appendingPathComponent("scratch")
            let pdf = GeneratedPDF.make(pages: ["Quick fox 2024"])
            let scan = try await DocumentPages.open(pdf, dpi: 300, scratch: scratch).image(1)
            let read = try await server.post("/v1/ocr", raw: scan, headers: [("Content-Type", "image/x-portable-pixmap")])
            #expect(read.status == .ok, "\(String(decoding: read.body, as: UTF8.self))")
            let page = try #require(try Self.pages(read).first)
            #expect(page["source"] as? String == "tesseract")
            #expect((page["text"] as? String)?.trimmingCharacters(in: .whitespacesAndNewlines) == "Quick fox 2024")
            #expect(try read.json["model"] as? String == "tesseract")
            let layered = try await server.post("/v1/ocr", raw: pdf, headers: [("Content-Type", "application/pdf")])
            #expect(try Self.pages(layered).first?["source"] as? String == "text-layer")
            #expect(try Self.pages(layered).first?["text"] as? String == "Quick fox 2024")
        }
    }

    @Test func aClientThatHangsUpStopsItsDocumentBeingRead() async throws {
        let log = LogLines()
        // Every Tesseract page takes 3 s, so six pages would keep the one worker busy 18 s.
        let server = try await ServerHarness.start(
            workers: 1, workerConfiguration: { $0.launch.environment["WORKERBEE_FAULT"] = "recognize:slow=3" }, logger: log.logger)
        try await withCleanup({ await server.stop() }) {
            var events = await server.server.pool.workers[0].events().makeAsyncIterator()
            let gone = server.postToAbandon(
                "/v1/ocr?force_ocr=true&dpi=50", body: GeneratedPDF.make(pages: (1...6).map { "Page number \($0)" }), contentType: "application/pdf", requestID: "gone-reader")
            #expect(await events.next(where: { $0.isSent(label: "Tesseract OCR") }) != nil, "the first page went to the worker")
            gone.cancel()
            let access = try #require(await log.next(containing: "info POST /v1/ocr", "request_id=gone-reader"))
            #expect(access.contains("/v1/ocr 499"), "access log: \(access)")
            // The worker's next request is the one sent now, not the rest of the document.
            let after = Task { try await server.post("/v1/embeddings", json: ["input": "asked after"]) }
            var pagesSent = 1
            while let event = await events.next(where: { $0.isSent() }), !event.isSent(label: "embed") { pagesSent += 1 }
            #expect(pagesSent <= 2, "\(pagesSent) of 6 pages were sent to the worker")
            #expect(try await after.value.status == .ok)
        }
    }

    @Test func askingForTheVisionEngineWithoutAVisionModelSaysHowToGiveItOne() async throws {
        let server = try await ServerHarness.start(workers: 1)
        try await withCleanup({ await server.stop() }) {
            let reply = try await server.post("/v1/ocr?engine=vision", raw: VisionSandbox.page(), headers: [("Content-Type", "image/png")])
            #expect(reply.status == .notFound)
            let error = try reply.json["error"] as? [String: Any]
            #expect((error?["message"] as? String)?.contains("--vision-model") == true)
            #expect(error?["code"] as? String == "model_not_found")
        }
    }
}
