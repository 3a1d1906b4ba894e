import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import WorkerBee
import WorkerBeeServer
import WorkerBeeTestSupport
import WorkerBeeFixtures

@Suite(.serialized, .timeLimit(.minutes(10))) struct EmbeddingServerTests {
    static let texts = ["The cat sat on the mat.", "Supervised workers survive crashes.", "Vectors for every sentence."]

    @Test func openAIEmbeddingsFollowTheContractAndMatchTheWorker() async throws {
        let server = try await ServerHarness.start()
        try await withCleanup({ await server.stop() }) {
            let expected = try await referenceVectors(Self.texts)
            let reply = try await server.post("/v1/embeddings", json: ["input": Self.texts, "model": "all-minilm-l6-v2", "user": "someone"])
            #expect(reply.status == .ok)
            let json = try reply.json
            #expect(json["object"] as? String == "list")
            #expect(json["model"] as? String == "all-minilm-l6-v2")
            let data = try #require(json["data"] as? [[String: Any]])
            #expect(data.map { $0["index"] as? Int } == [0, 1, 2])
            #expect(data.allSatisfy { $0["object"] as? String == "embedding" })
            for (vector, reference) in zip(try reply.openAIVectors, expected) { #expect(vector == reference) }
            let usage = try #require(json["usage"] as? [String: Int])
            #expect(usage["prompt_tokens"] == usage["total_tokens"] && (usage["prompt_tokens"] ?? 0) > 20)
            #expect(reply.headers["X-Truncated-Inputs"].first == "0")

            let single = try await server.post("/v1/embeddings", json: ["input": Self.texts[1], "model": "all-minilm-l6-v2"])
            #expect(try single.openAIVectors[0] == expected[1])
        }
    }

    @Test func base64DecodesToTheSameFloatsAsFloat() async throws {
        let server = try await ServerHarness.start()
        try await withCleanup({ await server.stop() }) {
            let floats = try await server.post("/v1/embeddings", json: ["input": Self.texts, "model": "all-minilm-l6-v2"])
            let encoded = try await server.post("/v1/embeddings", json: ["input": Self.texts, "model": "all-minilm-l6-v2", "encoding_format": "base64"])
            let data = try #require(try encoded.json["data"] as? [[String: Any]])
            for (item, vector) in zip(data, try floats.openAIVectors) {
                let text = try #require(item["embedding"] as? String)
                let bytes = try #require(Data(base64Encoded: text))
                let decoded = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
                #expect(decoded.count == 384)
                #expect(zip(decoded, vector).allSatisfy { abs($0 - $1) <= 1e-6 * max(1, abs($1)) })
            }
        }
    }

    @Test func dimensionsKeepsThePrefixWithUnitNormAndRefusesTooMany() async throws {
        let server = try await ServerHarness.start()
        try await withCleanup({ await server.stop() }) {
            let full = try await server.post("/v1/embeddings", json: ["input": Self.texts[0], "model": "all-minilm-l6-v2"]).openAIVectors[0]
            let short = try await server.post("/v1/embeddings", json: ["input": Self.texts[0], "model": "all-minilm-l6-v2", "dimensions": 64]).openAIVectors[0]
            #expect(short.count == 64)
            #expect(abs(short.reduce(0) { $0 + Double($1) * Double($1) } - 1) < 1e-5)
            #expect(cosineSimilarity(short, Array(full.prefix(64))) > 0.99999)
            let tooMany = try await server.post("/v1/embeddings", json: ["input": "x", "model": "all-minilm-l6-v2", "dimensions": 385])
            #expect(tooMany.status == .badRequest)
            #expect((try tooMany.json["error"] as? [String: Any])?["param"] as? String == "dimensions")
        }
    }

    @Test func tokenIDsEmbedLikeTheTextTheyCameFrom() async throws {
        let server = try await ServerHarness.start()
        try await withCleanup({ await server.stop() }) {
            let tokenized = try await server.post("/tokenize", json: ["content": Self.texts[2]])
            #expect(tokenized.status == .ok)
            let tokens = try #require(try tokenized.json["tokens"] as? [Int])
            #expect(try tokenized.json["count"] as? Int == tokens.count)
            let fromText = try await server.post("/v1/embeddings", json: ["input": Self.texts[2], "model": "all-minilm-l6-v2"]).openAIVectors[0]
            let fromIDs = try await server.post("/v1/embeddings", json: ["input": tokens, "model": "all-minilm-l6-v2"]).openAIVectors[0]
            let fromLists = try await server.post("/v1/embeddings", json: ["input": [tokens, tokens], "model": "all-minilm-l6-v2"]).openAIVectors
            #expect(fromIDs == fromText)
            #expect(fromLists.count == 2 && fromLists[1] == fromText)
            let outside = try await server.post("/v1/embeddings", json: ["input": [1, 2, 99_999_999], "model": "all-minilm-l6-v2"])
            #expect(outside.status == .badRequest)
            let negative = try await server.post("/v1/embeddings", json: ["input": [[101, -5, 102]], "model": "all-minilm-l6-v2"])
            #expect(negative.status == .badRequest)
        }
    }

    @Test func ollamaRoutesAnswerInOllamasShape() async throws {
        let server = try await ServerHarness.start()
        try await withCleanup({ await server.stop() }) {
            let expected = try await referenceVectors(Self.texts)
            let embed = try await server.post("/api/embed", json: ["model": "all-minilm-l6-v2", "input": Self.texts, "keep_alive": "5m", "options": ["num_thread": 2]])
            #expect(embed.status == .ok)
            let json = try embed.json
            #expect(json["model"] as? String == "all-minilm-l6-v2")
            let vectors = try #require(json["embeddings"] as? [[NSNumber]]).map { $0.map(\.floatValue) }
            for (vector, reference) in zip(vectors, expected) { #expect(vector == reference) }
            #expect((json["prompt_eval_count"] as? Int ?? 0) > 20 && (json["total_duration"] as? Int ?? 0) > 0)

            let older = try await server.post("/api/embeddings", json: ["model": "all-minilm-l6-v2", "prompt": Self.texts[0]])
            let vector = try #require(try older.json["embedding"] as? [NSNumber]).map(\.floatValue)
            #expect(vector == expected[0])

            let long = String(repeating: "many words here ", count: 400)
            let cut = try await server.post("/api/embed", json: ["model": "all-minilm-l6-v2", "input": [long, "short"]])
            #expect(cut.status == .ok && cut.headers["X-Truncated-Inputs"].first == "1")
            let refused = try await server.post("/api/embed", json: ["model": "all-minilm-l6-v2", "input": long, "truncate": false])
            #expect(refused.status == .badRequest)
            #expect((try refused.json["error"] as? String)?.contains("context length") == true, "Ollama's error shape is a string")
        }
    }

    @Test func modelListsNameTheModelsThatCanEmbed() async throws {
        let server = try await ServerHarness.start()
        try await withCleanup({ await server.stop() }) {
            let openAI = try await server.get("/v1/models").json
            #expect(openAI["object"] as? String == "list")
            let ids = (openAI["data"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            #expect(ids.contains("all-minilm-l6-v2"))
            let tags = try await server.get("/api/tags").json
            let names = (tags["models"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            #expect(names.contains("all-minilm-l6-v2"))
        }
    }

    @Test func badRequestsGetTheRightStatusInEachAPIsShape() async throws {
        let server = try await ServerHarness.start { $0.maxInputs = 4; $0.maxBodyBytes = 4096 }
        try await withCleanup({ await server.stop() }) {
            func openAIError(_ reply: ServerHarness.Reply) throws -> [String: Any] { try #require(try reply.json["error"] as? [String: Any]) }

            let malformed = try await server.post("/v1/embeddings", raw: Data("{not json".utf8))
            #expect(malformed.status == .badRequest)
            #expect(try openAIError(malformed)["type"] as? String == "invalid_request_error")
            let wrongType = try await server.post("/v1/embeddings", json: ["input": [1.5, "x"], "model": "all-minilm-l6-v2"])
            let wrongTypeParam = try openAIError(wrongType)["param"] as? String
            #expect(wrongType.status == .badRequest && wrongTypeParam == "input")
            let empty = try await server.post("/v1/embeddings", json: ["input": [String](), "model": "all-minilm-l6-v2"])
            #expect(empty.status == .badRequest)
            let badFormat = try await server.post("/v1/embeddings", json: ["input": "x", "encoding_format": "int8"])
            let badFormatParam = try openAIError(badFormat)["param"] as? String
            #expect(badFormat.status == .badRequest && badFormatParam == "encoding_format")
            let unknown = try await server.post("/v1/embeddings", json: ["input": "x", "model": "no-such-model"])
            let unknownCode = try openAIError(unknown)["code"] as? String
            #expect(unknown.status == .notFound && unknownCode == "model_not_found")
            let tooMany = try await server.post("/v1/embeddings", json: ["input": ["a", "b", "c", "d", "e"], "model": "all-minilm-l6-v2"])
            #expect(tooMany.status == .payloadTooLarge)
            let tooBig = try await server.post("/v1/embeddings", json: ["input": String(repeating: "x", count: 10_000)])
            #expect(tooBig.status == .payloadTooLarge)
            let ollama = try await server.post("/api/embed", json: ["model": "no-such-model", "input": "x"])
            let ollamaError = try ollama.json["error"] as? String
            #expect(ollama.status == .notFound && ollamaError != nil)
            // Every reply carries a request id; a given one is echoed.
            let echoed = try await server.get("/health", headers: [("X-Request-Id", "abc-123")])
            #expect(echoed.headers["X-Request-Id"].first == "abc-123")
            #expect(malformed.headers["X-Request-Id"].first?.isEmpty == false)
        }
    }

    @Test func anAPIKeyIsRequiredExceptForTheProbesAndMetrics() async throws {
        let server = try await ServerHarness.start { $0.apiKey = "sesame" }
        try await withCleanup({ await server.stop() }) {
            let missing = try await server.post("/v1/embeddings", json: ["input": "x"])
            #expect(missing.status == .unauthorized)
            #expect((try missing.json["error"] as? [String: Any])?["code"] as? String == "invalid_api_key")
            let wrong = try await server.post("/api/embed", json: ["input": "x"], headers: [("Authorization", "Bearer nope")])
            #expect(wrong.status == .unauthorized)
            let right = try await server.post("/v1/embeddings", json: ["input": "x"], headers: [("Authorization", "Bearer sesame")])
            #expect(right.status == .ok)
            #expect(try await server.get("/health").status == .ok)
            #expect(try await server.get("/metrics").status == .ok)
            #expect(try await server.get("/v1/models").status == .unauthorized)
        }
    }

    @Test func healthReadyAndMetricsReport() async throws {
        let server = try await ServerHarness.start()
        try await withCleanup({ await server.stop() }) {
            #expect(try await server.get("/health").json["status"] as? String == "ok")
            #expect(try await server.get("/ready").json["status"] as? String == "ready")
            _ = try await server.post("/v1/embeddings", json: ["input": Self.texts])
            let metrics = String(decoding: try await server.get("/metrics").body, as: UTF8.self)
            for name in [
                #"workerbee_requests_total{route="/v1/embeddings",status="200"}"#, "workerbee_request_duration_seconds", "workerbee_queue_wait_seconds",
                "workerbee_batch_texts", "workerbee_tokens_embedded_total", "workerbee_worker_spawns_total",
            ] {
                #expect(metrics.contains(name), "missing \(name)")
            }
        }
    }

    @Test func aModelThatCannotBeLoadedMakesReady503WithTheReason() async throws {
        let server = try await ServerHarness.start(waitForReady: false, workerConfiguration: { $0.models.embedding = "/nonexistent/model.gguf" })
        try await withCleanup({ await server.stop() }) {
            let problem = await server.server.waitUntilReadyOrBroken()
            #expect(problem?.contains("does not exist") == true)
            let reply = try await server.get("/ready")
            #expect(reply.status == .serviceUnavailable)
            #expect((try reply.json["reason"] as? String)?.contains("does not exist") == true, "\(String(decoding: reply.body, as: UTF8.self))")
            let refused = try await server.post("/v1/embeddings", json: ["input": "x"])
            #expect(refused.status == .serviceUnavailable)
            #expect(try await server.get("/health").status == .ok, "the process itself is fine")
        }
    }
}
