import Foundation
import GGUF
import Testing
import WorkerBee
import WorkerBeeFixtures
import WorkerBeeServer
import WorkerBeeTestSupport

/// One server, several models: generated tiny BERT models `tiny-a` (the default) and `tiny-b`.
@Suite(.timeLimit(.minutes(5))) struct MultiModelServerTests {
    static let texts = ["hello world", "the worker bee", "a vector text"]

    /// Writes `tiny-a` and `tiny-b` into `folder`; `tiny-b` carries e5-style prompts.
    static func writeModels(to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (index, name) in ["tiny-a", "tiny-b"].enumerated() {
            let source = folder.deletingLastPathComponent().appendingPathComponent("source-\(name)")
            try TinyModels.writeSentenceTransformersBERT(to: source, seed: UInt64(200 + index))
            if name == "tiny-b" {
                let prompts: [String: Any] = ["prompts": ["query": "the ", "passage": "a "]]
                try JSONSerialization.data(withJSONObject: prompts).write(to: source.appendingPathComponent("config_sentence_transformers.json"))
            }
            try SentenceTransformersConverter.convert(directory: source, to: folder.appendingPathComponent("\(name).gguf"))
        }
    }

    /// A fresh folder holding `tiny-a` and `tiny-b` (its parent is scratch space to delete).
    static func modelsFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-models-\(UUID().uuidString)/models")
        try writeModels(to: folder)
        return folder
    }

    /// A server over `folder` whose default model is `tiny-a`.
    /// `workers` changes the workers' configuration (e.g. a fault to inject).
    static func start(
        _ folder: URL, waitForReady: Bool = true, _ configure: @escaping (inout ServerConfiguration) -> Void = { _ in },
        workers: @escaping (inout WorkerConfiguration) -> Void = { _ in }
    ) async throws -> ServerHarness {
        try await ServerHarness.start(waitForReady: waitForReady, { configuration in
            configuration.modelName = "tiny-a"
            configure(&configuration)
        }, workers: 1) { configuration in
            configuration.models.directory = folder
            configuration.models.embedding = "tiny-a"
            workers(&configuration)
        }
    }

    /// What one worker of `model` alone gives for `texts`.
    static func reference(_ texts: [String], model: String, folder: URL) async throws -> [[Float]] {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        var configuration = sandbox.configuration()
        configuration.models.directory = folder
        configuration.models.embedding = ModelReference(model)
        let worker = WorkerProcess(configuration: configuration)
        return try await withCleanup({ await worker.stop() }) { try await worker.embed(.texts(texts)).vectors }
    }

    @Test func eachRequestGetsTheModelItNamesAndKeepAliveZeroUnloadsIt() async throws {
        let folder = try Self.modelsFolder()
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        let expectedA = try await Self.reference(Self.texts, model: "tiny-a", folder: folder)
        let expectedB = try await Self.reference(Self.texts, model: "tiny-b", folder: folder)
        #expect(expectedA != expectedB)
        let server = try await Self.start(folder)
        try await withCleanup({ await server.stop() }) {
            for round in 0..<2 {
                let a = try await server.post("/v1/embeddings", json: ["model": "tiny-a", "input": Self.texts])
                let b = try await server.post("/v1/embeddings", json: ["model": "tiny-b", "input": Self.texts])
                #expect(a.status == .ok && b.status == .ok)
                #expect(try a.openAIVectors == expectedA, "round \(round)")
                #expect(try b.openAIVectors == expectedB, "round \(round)")
            }
            let loaded = try await server.get("/api/ps").json
            let names = try #require(loaded["models"] as? [[String: Any]]).compactMap { $0["name"] as? String }
            #expect(names.sorted() == ["tiny-a", "tiny-b"])
            let listed = try #require(try await server.get("/v1/models").json["data"] as? [[String: Any]])
            #expect(listed.filter { $0["loaded"] as? Bool == true }.compactMap { $0["id"] as? String }.sorted() == ["tiny-a", "tiny-b"])
            let pids = try await server.server.models.withPool(for: "tiny-b") { await $0.statistics.pids }
            #expect(pids.count == 1)
            let metrics = String(decoding: try await server.get("/metrics").body, as: UTF8.self)
            for line in [#"workerbee_model_requests_total{model="tiny-b"} 2"#, #"workerbee_model_requests_total{model="tiny-a"} 2"#,
                         #"workerbee_model_worker_spawns{model="tiny-b"} 1"#, #"workerbee_model_batch_texts_count{model="tiny-b"}"#] {
                #expect(metrics.contains(line), "\(line) in /metrics")
            }

            let unload = try await server.post("/api/embed", json: ["model": "tiny-b", "input": "bye", "keep_alive": 0])
            #expect(unload.status == .ok)
            let after = try await server.get("/api/ps").json
            #expect(try #require(after["models"] as? [[String: Any]]).compactMap { $0["name"] as? String } == ["tiny-a"])
            #expect(await ProcessProbe.poll { pids.allSatisfy(ProcessProbe.isGone) }, "tiny-b's worker was stopped")

            // Ollama's load request (no input) with a keep_alive, then its unload request.
            let load = try await server.post("/api/embed", json: ["model": "tiny-b", "keep_alive": "10m"])
            #expect(load.status == .ok)
            _ = try await server.post("/v1/embeddings", json: ["model": "tiny-b", "input": "again"])
            #expect(await server.server.models.loaded().first?.expiresAt != nil)
            let unloadOnly = try await server.post("/api/embed", json: ["model": "tiny-b", "keep_alive": 0])
            #expect(unloadOnly.status == .ok)
            #expect(await server.server.models.loaded().isEmpty, "an unload request with no input unloads")

            // Cohere clients send input_type on every request: a model without prompts takes it.
            let cohere = try await server.post("/v1/embeddings", json: ["model": "tiny-a", "input": ["hello world"], "input_type": "search_query"])
            #expect(cohere.status == .ok)
            #expect(try cohere.openAIVectors == [expectedA[0]])
            let missing = try await server.post("/v1/embeddings", json: ["model": "tiny-c", "input": "x"])
            #expect(missing.status == .notFound)
        }
    }

    @Test func keepAliveIsReadAsOllamaWritesIt() {
        #expect(KeepAliveValue.parse("5m") == .duration(.seconds(300)))
        #expect(KeepAliveValue.parse("1h30m") == .duration(.seconds(5400)))
        #expect(KeepAliveValue.parse("250ms") == .duration(.milliseconds(250)))
        #expect(KeepAliveValue.parse("300") == .duration(.seconds(300)))
        #expect(KeepAliveValue.parse("0") == .duration(.zero))
        #expect(KeepAliveValue.parse("-1") == .forever)
        #expect(KeepAliveValue.parse("-5m") == .forever)
        #expect(KeepAliveValue.parse("soon") == nil)
        #expect(KeepAliveValue.parse("5x") == nil)
    }

    @Test func normalizeFalseGivesTheModelsRawVectorsForEveryModel() async throws {
        let folder = try Self.modelsFolder()
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        var configuration = sandbox.configuration()
        configuration.models.directory = folder
        configuration.models.embedding = "tiny-b"
        let worker = WorkerProcess(configuration: configuration)
        let raw = try await withCleanup({ await worker.stop() }) {
            try await worker.embed(.texts(Self.texts), options: EmbedOptions(normalize: false)).vectors
        }
        #expect(raw.contains { abs($0.reduce(0) { $0 + $1 * $1 } - 1) > 1e-3 }, "the tiny model's raw vectors are not unit vectors")
        let server = try await Self.start(folder)
        try await withCleanup({ await server.stop() }) {
            let reply = try await server.post("/v1/embeddings", json: ["model": "tiny-b", "input": Self.texts, "normalize": false])
            #expect(reply.status == .ok)
            #expect(try reply.openAIVectors == raw)
        }
    }

    @Test func preloadedModelsAreLoadedBeforeTheServerIsReadyAndStay() async throws {
        let folder = try Self.modelsFolder()
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        let server = try await Self.start(folder) { $0.preload = ["tiny-b"] }
        try await withCleanup({ await server.stop() }) {
            let loaded = await server.server.models.loaded()
            #expect(loaded.map(\.model) == ["tiny-b"], "loaded before ready")
            #expect(loaded.first?.expiresAt == nil, "kept until the server stops")
            let metrics = String(decoding: try await server.get("/metrics").body, as: UTF8.self)
            #expect(metrics.contains("workerbee_models_loaded 2"), "the default model and tiny-b")
        }
    }

    @Test func aPreloadThatDoesNotExistKeepsTheServerUnreadyAndSaysWhy() async throws {
        let folder = try Self.modelsFolder()
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        let server = try await Self.start(folder, waitForReady: false) { $0.preload = ["tiny-z"] }
        try await withCleanup({ await server.stop() }) {
            let problem = await server.server.waitUntilReadyOrBroken()
            #expect(problem?.contains("tiny-z") == true, "\(problem ?? "ready")")
        }
    }

    @Test func aPromptNameChangesTheVectorExactlyAsPrependingItsTextDoes() async throws {
        let folder = try Self.modelsFolder()
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        let server = try await Self.start(folder) { $0.prompts = ["bee": "bee "] }
        try await withCleanup({ await server.stop() }) {
            let plain = try await server.post("/v1/embeddings", json: ["model": "tiny-b", "input": ["the hello world", "a worker text"]])
            let named = try await server.post("/v1/embeddings", json: ["model": "tiny-b", "input": ["hello world"], "prompt_name": "query"])
            let typed = try await server.post("/v1/embeddings", json: ["model": "tiny-b", "input": ["worker text"], "input_type": "search_document"])
            #expect(plain.status == .ok && named.status == .ok && typed.status == .ok)
            let expected = try plain.openAIVectors
            #expect(try named.openAIVectors == [expected[0]], "prompt_name query puts \"the \" first")
            #expect(try typed.openAIVectors == [expected[1]], "input_type search_document maps to passage")
            let usage = try #require(try named.json["usage"] as? [String: Any])
            let reference = try await server.post("/v1/embeddings", json: ["model": "tiny-b", "input": ["the hello world"]])
            #expect(usage["prompt_tokens"] as? Int == (try reference.json["usage"] as? [String: Any])?["prompt_tokens"] as? Int, "token counts include the prompt")

            let override = try await server.post("/api/embed", json: ["input": "hello", "prompt_name": "bee"])
            let prepended = try await server.post("/api/embed", json: ["input": "bee hello"])
            #expect(try override.json["embeddings"] as? [[Double]] == (try prepended.json["embeddings"] as? [[Double]]), "--prompt adds a prompt to every model")

            let unknown = try await server.post("/v1/embeddings", json: ["model": "tiny-b", "input": ["x"], "prompt_name": "summary"])
            #expect(unknown.status == .badRequest)
            let message = String(decoding: unknown.body, as: UTF8.self)
            #expect(message.contains("passage") && message.contains("query"), "\(message)")
        }
    }

    @Test func aModelThatCannotEmbedIsA400SayingWhatItIs() async throws {
        let folder = try Self.modelsFolder()
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        _ = try TinyModels.writeVisionModel(to: folder)
        let server = try await Self.start(folder)
        try await withCleanup({ await server.stop() }) {
            let vision = try await server.post("/v1/embeddings", json: ["model": "tiny-vision", "input": "x"])
            #expect(vision.status == .badRequest)
            #expect(String(decoding: vision.body, as: UTF8.self).contains("cannot embed"))
            let projector = try await server.post("/api/embed", json: ["model": "mmproj-tiny-vision", "input": "x"])
            #expect(projector.status == .badRequest)
            #expect(String(decoding: projector.body, as: UTF8.self).contains("vision projector"))
            #expect(await server.server.models.loaded().isEmpty, "nothing was loaded for them")
        }
    }

    @Test func anOCRRequestNamesItsVisionModelAndItLoadsInWorkersOfItsOwn() async throws {
        let folder = try Self.modelsFolder()
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        _ = try TinyModels.writeVisionModel(to: folder)
        let server = try await Self.start(folder)
        try await withCleanup({ await server.stop() }) {
            let page = TinyImages.png(width: 40, height: 40) { x, y in (UInt8(x * 6), UInt8(y * 6), 128) }
            let reply = try await server.post("/v1/ocr?engine=vision&model=tiny-vision&max_tokens=4", raw: page, headers: [("Content-Type", "image/png")])
            #expect(reply.status == .ok, "\(String(decoding: reply.body, as: UTF8.self))")
            let json = try reply.json
            #expect(json["model"] as? String == "tiny-vision")
            #expect((json["pages"] as? [[String: Any]])?.first?["generatedTokens"] as? Int == 4)
            let loaded = await server.server.models.loaded()
            #expect(loaded.map(\.model) == ["tiny-vision"] && loaded.first?.kind == .vision)
            let missing = try await server.post("/v1/ocr?engine=vision&model=nope", raw: page, headers: [("Content-Type", "image/png")])
            #expect(missing.status == .notFound)
        }
    }

    @Test func truncationDirectionLeftKeepsTheEndOfAnOverLongInput() async throws {
        let folder = try Self.modelsFolder()
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        let server = try await Self.start(folder)
        try await withCleanup({ await server.stop() }) {
            // Two texts longer than the tiny model's 64 positions: different starts, the same end.
            let end = Array(repeating: "worker bee vector", count: 30).joined(separator: " ")
            let texts = [Array(repeating: "hello", count: 80).joined(separator: " ") + " " + end, Array(repeating: "text", count: 80).joined(separator: " ") + " " + end]
            let left = try await server.post("/v1/embeddings", json: ["input": texts, "truncation_direction": "left"])
            let right = try await server.post("/v1/embeddings", json: ["input": texts, "truncation_direction": "right"])
            #expect(left.status == .ok && right.status == .ok)
            #expect(left.headers["X-Truncated-Inputs"].first == "2")
            let kept = try left.openAIVectors, cut = try right.openAIVectors
            #expect(kept[0] == kept[1], "cutting the start leaves the same end of both texts")
            #expect(cut[0] != cut[1], "cutting the end leaves their different starts")
            let ollama = try await server.post("/api/embed", json: ["input": texts, "truncation_direction": "Left"])
            #expect(try (ollama.json["embeddings"] as? [[Double]])?.map { $0.map(Float.init) } == kept)
            let bad = try await server.post("/v1/embeddings", json: ["input": texts, "truncation_direction": "middle"])
            #expect(bad.status == .badRequest)
        }
    }
}
