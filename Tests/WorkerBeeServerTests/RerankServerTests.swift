import Foundation
import GGUF
import NIOHTTP1
import Testing
import WorkerBee
import WorkerBeeFixtures
import WorkerBeeServer
import WorkerBeeTestSupport

/// `/v1/rerank`, `/v1/reranking` and `/rerank` over a generated BERT cross-encoder
/// (`tiny-rerank`, imported from its Hugging Face folder) next to an embedding model (`tiny-a`,
/// the default), checked against an independent forward pass of the original folder.
@Suite(.timeLimit(.minutes(5))) struct RerankServerTests {
    static let query = "hello world"
    static let documents = ["the worker bee embeds a text", "hello world !", "a vector", "worker bees embed the text , hello", "?"]

    /// A models folder with `tiny-a`, `tiny-b`, `tiny-rerank` and `tiny-nli` (a classifier with
    /// three labels), and the cross-encoder's source folder.
    static func modelsFolder() throws -> (folder: URL, source: URL) {
        let folder = try MultiModelServerTests.modelsFolder()
        let source = folder.deletingLastPathComponent().appendingPathComponent("source-tiny-rerank")
        try TinyModels.writeCrossEncoderBERT(to: source)
        try SentenceTransformersConverter.convert(directory: source, to: folder.appendingPathComponent("tiny-rerank.gguf"), type: .f32)
        let nli = folder.deletingLastPathComponent().appendingPathComponent("source-tiny-nli")
        try TinyModels.writeCrossEncoderBERT(to: nli, labels: 3)
        try SentenceTransformersConverter.convert(directory: nli, to: folder.appendingPathComponent("tiny-nli.gguf"), type: .f32)
        return (folder, source)
    }

    static func sigmoid(_ x: Float) -> Float { Float(1 / (1 + exp(-Double(x)))) }

    /// `results` (or TEI's list) as (index, score, text).
    static func results(_ objects: [[String: Any]], scoreKey: String) throws -> [(index: Int, score: Float, text: String?)] {
        try objects.map { object in
            let text = (object["document"] as? [String: Any])?["text"] as? String ?? object["text"] as? String
            return (try #require(object["index"] as? Int), try #require(object[scoreKey] as? NSNumber).floatValue, text)
        }
    }

    @Test func v1RerankRanksBestFirstWithTheModelsOwnScoresTopNAndDocuments() async throws {
        let (folder, source) = try Self.modelsFolder()
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        let reference = try await CrossEncoderReference.compute(folder: source, pairs: Self.documents.map { (Self.query, $0) })
        let logits = reference.logits.map { $0[0] }
        let expectedOrder = logits.indices.sorted { logits[$0] > logits[$1] }
        let server = try await MultiModelServerTests.start(folder)
        try await withCleanup({ await server.stop() }) {
            // Documents as strings and as objects with text, as Cohere's and Jina's clients send them.
            let documents: [Any] = Self.documents.enumerated().map { $0.offset % 2 == 0 ? $0.element as Any : ["text": $0.element] as Any }
            for path in ["/v1/rerank", "/v1/reranking", "/rerank"] {
                let reply = try await server.post(path, json: [
                    "model": "tiny-rerank", "query": Self.query, "documents": documents, "top_n": 3, "return_documents": true,
                ])
                #expect(reply.status == .ok, "\(path): \(String(decoding: reply.body, as: UTF8.self))")
                let json = try reply.json
                #expect(json["model"] as? String == "tiny-rerank")
                let results = try Self.results(try #require(json["results"] as? [[String: Any]]), scoreKey: "relevance_score")
                #expect(results.map(\.index) == Array(expectedOrder.prefix(3)), "\(path)")
                for result in results {
                    #expect(abs(result.score - Self.sigmoid(logits[result.index])) <= 1e-4, "\(path) document \(result.index)")
                    #expect(result.text == Self.documents[result.index])
                }
                let usage = try #require(json["usage"] as? [String: Any])
                #expect(usage["total_tokens"] as? Int == reference.tokens.map(\.count).reduce(0, +))
            }
            // Raw scores are the model's logits, as the original model computes them.
            let raw = try await server.post("/v1/rerank", json: ["model": "tiny-rerank", "query": Self.query, "documents": Self.documents, "raw_scores": true])
            let rawResults = try Self.results(try #require(try raw.json["results"] as? [[String: Any]]), scoreKey: "relevance_score")
            #expect(rawResults.count == Self.documents.count && rawResults.allSatisfy { $0.text == nil })
            for result in rawResults {
                #expect(abs(result.score - logits[result.index]) <= 1e-3, "document \(result.index): \(result.score) against \(logits[result.index])")
            }
            let metrics = String(decoding: try await server.get("/metrics").body, as: UTF8.self)
            #expect(metrics.contains(#"workerbee_model_requests_total{model="tiny-rerank"} 4"#), "\(metrics)")
            for route in ["/v1/rerank", "/v1/reranking", "/rerank"] {
                #expect(metrics.contains(#"workerbee_requests_total{route="\#(route)",status="200"}"#), "\(route)")
            }
        }
    }

    @Test func teiRerankGivesTheSigmoidUnlessRawScoresAndEchoesTexts() async throws {
        let (folder, source) = try Self.modelsFolder()
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        let logits = try await CrossEncoderReference.compute(folder: source, pairs: Self.documents.map { (Self.query, $0) }).logits.map { $0[0] }
        let server = try await MultiModelServerTests.start(folder)
        try await withCleanup({ await server.stop() }) {
            for raw in [false, true] {
                let reply = try await server.post("/rerank", json: ["model": "tiny-rerank", "query": Self.query, "texts": Self.documents, "raw_scores": raw, "return_text": true])
                #expect(reply.status == .ok)
                let list = try #require(try JSONSerialization.jsonObject(with: reply.body) as? [[String: Any]])
                let results = try Self.results(list, scoreKey: "score")
                #expect(results.count == Self.documents.count)
                #expect(results.map(\.score) == results.map(\.score).sorted(by: >))
                for result in results {
                    let expected = raw ? logits[result.index] : Self.sigmoid(logits[result.index])
                    #expect(abs(result.score - expected) <= 1e-3, "raw \(raw), text \(result.index)")
                    #expect(result.text == Self.documents[result.index])
                }
            }
        }
    }

    @Test func aDocumentOverTheContextIsCutAndReported() async throws {
        let (folder, source) = try Self.modelsFolder()
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        let long = Array(repeating: "the worker bee embeds a text .", count: 20).joined(separator: " ")
        let reference = try await CrossEncoderReference.compute(folder: source, pairs: [(Self.query, long), (Self.query, "a text")], maxLength: 64)
        let server = try await MultiModelServerTests.start(folder)
        try await withCleanup({ await server.stop() }) {
            let reply = try await server.post("/v1/rerank", json: ["model": "tiny-rerank", "query": Self.query, "documents": [long, "a text"], "raw_scores": true])
            #expect(reply.status == .ok)
            #expect(reply.headers["X-Truncated-Inputs"].first == "1")
            let results = try Self.results(try #require(try reply.json["results"] as? [[String: Any]]), scoreKey: "relevance_score")
            for result in results {
                #expect(abs(result.score - reference.logits[result.index][0]) <= 1e-3, "document \(result.index)")
            }
            // TEI's truncate: false makes it an error instead.
            let refused = try await server.post("/rerank", json: ["model": "tiny-rerank", "query": Self.query, "texts": [long, "a text"], "truncate": false])
            #expect(refused.status == .badRequest)
            #expect(String(decoding: refused.body, as: UTF8.self).contains("1 of 2 pairs are longer than the model's context"))
        }
    }

    @Test func aModelOfTheWrongKindGets400SayingWhy() async throws {
        let (folder, _) = try Self.modelsFolder()
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        let server = try await MultiModelServerTests.start(folder)
        try await withCleanup({ await server.stop() }) {
            let embedWithReranker = try await server.post("/v1/embeddings", json: ["model": "tiny-rerank", "input": ["hello"]])
            #expect(embedWithReranker.status == .badRequest)
            #expect(String(decoding: embedWithReranker.body, as: UTF8.self).contains("reranker"))
            let rerankWithEmbedder = try await server.post("/v1/rerank", json: ["model": "tiny-b", "query": "q", "documents": ["d"]])
            #expect(rerankWithEmbedder.status == .badRequest)
            #expect(String(decoding: rerankWithEmbedder.body, as: UTF8.self).contains("embedding model"))
            let noModel = try await server.post("/v1/rerank", json: ["query": "q", "documents": ["d"]])
            #expect(noModel.status == .badRequest)
            #expect(String(decoding: noModel.body, as: UTF8.self).contains("tiny-rerank"), "names the rerankers there are")
            let classifier = try await server.post("/v1/rerank", json: ["model": "tiny-nli", "query": "q", "documents": ["d"]])
            #expect(classifier.status == .badRequest)
            #expect(String(decoding: classifier.body, as: UTF8.self).contains("classifier with 3 labels"))
            let noQuery = try await server.post("/v1/rerank", json: ["model": "tiny-rerank", "documents": ["d"]])
            #expect(noQuery.status == .badRequest)
            let badTopN = try await server.post("/v1/rerank", json: ["model": "tiny-rerank", "query": "q", "documents": ["d"], "top_n": 0])
            #expect(badTopN.status == .badRequest)
            let listed = try #require(try await server.get("/v1/models").json["data"] as? [[String: Any]])
            #expect(listed.first { $0["id"] as? String == "tiny-rerank" }?["task"] as? String == "rerank")
            #expect(listed.first { $0["id"] as? String == "tiny-b" }?["task"] as? String == "embed")
        }
    }

    @Test func tooManyDocumentsGet413() async throws {
        let (folder, _) = try Self.modelsFolder()
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        let server = try await MultiModelServerTests.start(folder) { $0.maxInputs = 4 }
        try await withCleanup({ await server.stop() }) {
            let reply = try await server.post("/v1/rerank", json: ["model": "tiny-rerank", "query": "q", "documents": Self.documents])
            #expect(reply.status == .payloadTooLarge)
        }
    }

    @Test func killingTheRerankersWorkerDuringLoadLosesNoRequest() async throws {
        let (folder, _) = try Self.modelsFolder()
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        // Every request holding the first document takes 0.2 s in the worker, so that a kill sent
        // when a request goes out lands inside it.
        let server = try await MultiModelServerTests.start(folder, workers: {
            $0.launch.environment["WORKERBEE_FAULT"] = "embed-text=\(Self.documents[0]):slow=0.2"
        })
        try await withCleanup({ await server.stop() }) {
            let first = try await server.post("/v1/rerank", json: ["model": "tiny-rerank", "query": Self.query, "documents": Self.documents, "raw_scores": true])
            let expected = Dictionary(uniqueKeysWithValues: try Self.results(try #require(try first.json["results"] as? [[String: Any]]), scoreKey: "relevance_score").map { ($0.index, $0.score) })
            let load = Task {
                try await withThrowingTaskGroup(of: (HTTPResponseStatus, [Int: Float]).self) { group in
                    for _ in 0..<48 {
                        group.addTask {
                            let reply = try await server.post("/v1/rerank", json: ["model": "tiny-rerank", "query": Self.query, "documents": Self.documents, "raw_scores": true])
                            guard reply.status == .ok else { return (reply.status, [:]) }
                            let results = try Self.results(try #require(try reply.json["results"] as? [[String: Any]]), scoreKey: "relevance_score")
                            return (reply.status, Dictionary(uniqueKeysWithValues: results.map { ($0.index, $0.score) }))
                        }
                    }
                    var replies: [(HTTPResponseStatus, [Int: Float])] = []
                    for try await reply in group { replies.append(reply) }
                    return replies
                }
            }
            // Kill the reranker's worker as a rerank request goes out to it, 4 times over, while the load runs.
            let pool = try await server.server.models.withPool(for: "tiny-rerank") { $0 }
            var events = await pool.workers[0].events().makeAsyncIterator()
            var kills = 0
            for _ in 0..<4 {
                guard await events.next(where: { $0.isSent(label: "rerank") }) != nil else { break }
                for pid in await pool.statistics.pids { kill(pid, SIGKILL) }
                kills += 1
            }
            let replies = try await load.value
            #expect(replies.count == 48)
            for (status, scores) in replies {
                #expect(status == .ok)
                #expect(scores == expected)
            }
            #expect(kills == 4)
            // A retried piece is split, and a piece without the slow document can finish before
            // its kill; the ones that hold it are lost and sent again.
            #expect(await pool.statistics.losses >= 1, "a kill landed inside a request")
        }
    }
}
