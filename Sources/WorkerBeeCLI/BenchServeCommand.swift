import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A load generator for any OpenAI-compatible embeddings URL (WorkerBee's own server,
/// llama-server, ...): N concurrent clients, each sending requests one after another.
struct BenchServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Drive an OpenAI-compatible /v1/embeddings URL with concurrent clients; print texts/s and latency.")

    @Option(help: "The server's base URL.")
    var url: String = "http://127.0.0.1:8080"

    @Option(help: "Concurrent clients.")
    var clients: Int = 16

    @Option(help: "Texts per request.")
    var textsPerRequest: Int = 1

    @Option(help: "Generated text shape: sentences or chunks (~150 words).")
    var shape: BenchCorpus.Shape = .sentences

    @Option(help: "Requests in all (split over the clients).")
    var requests: Int = 1000

    @Option(help: "Stop after this many seconds even if requests remain.")
    var seconds: Double = 120

    @Option(help: "The model name to send.")
    var model: String = "all-minilm-l6-v2"

    @Option(help: "Bearer token to send.")
    var apiKey: String?

    @Flag(help: "Check every vector against the server's own answer for that text before the load (cosine >= 0.9999), and count the wrong ones.")
    var verify = false

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        if clients < 1 || textsPerRequest < 1 || requests < 1 { throw ValidationError("--clients, --texts-per-request and --requests must be at least 1") }
    }

    struct Report: Encodable {
        var clients: Int
        var textsPerRequest: Int
        var requests = 0
        var failures = 0
        /// Responses whose vectors differ from the reference (with --verify).
        var wrong = 0
        var seconds = 0.0
        var textsPerSecond = 0.0
        var latencyMs: [Double] = []
    }

    func run() async throws {
        let corpus = BenchCorpus.texts(shape, count: max(textsPerRequest * 64, 256))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: clients)))
        let endpoint = url.hasSuffix("/") ? url + "v1/embeddings" : url + "/v1/embeddings"
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int64(seconds * 1000)))
        let clock = ContinuousClock()
        // Warm up: one request, so the first measured ones do not pay a cold start.
        _ = try? await send(client, endpoint, Array(corpus.prefix(textsPerRequest)))
        var reference: [[Float]] = []
        if verify {
            for start in stride(from: 0, to: corpus.count, by: 64) {
                let texts = Array(corpus[start..<min(start + 64, corpus.count)])
                guard case .vectors(let vectors)? = try? await send(client, endpoint, texts), vectors.count == texts.count else {
                    throw ValidationError("--verify: the server did not answer the reference request")
                }
                reference += vectors
            }
        }
        let start = clock.now
        let references = reference
        let (results, wrong) = await withTaskGroup(of: ([Double?], Int).self) { group in
            for clientIndex in 0..<clients {
                let share = requests / clients + (clientIndex < requests % clients ? 1 : 0)
                group.addTask {
                    var latencies: [Double?] = []
                    var wrong = 0
                    for request in 0..<share where ContinuousClock.now < deadline {
                        let offset = (clientIndex * 7919 + request * textsPerRequest) % (corpus.count - textsPerRequest + 1)
                        let began = clock.now
                        let outcome = try? await send(client, endpoint, Array(corpus[offset..<(offset + textsPerRequest)]))
                        guard case .vectors(let vectors)? = outcome else {
                            latencies.append(nil)
                            continue
                        }
                        latencies.append((clock.now - began).seconds)
                        if verify, vectors.count != textsPerRequest || zip(vectors, references[offset...]).contains(where: { Self.cosine($0, $1) < 0.9999 }) {
                            wrong += 1
                        }
                    }
                    return (latencies, wrong)
                }
            }
            var all: [Double?] = []
            var wrong = 0
            for await (latencies, wrongHere) in group {
                all += latencies
                wrong += wrongHere
            }
            return (all, wrong)
        }
        try await client.shutdown()
        let elapsed = (clock.now - start).seconds
        let succeeded = results.compactMap { $0 }.sorted()
        var report = Report(clients: clients, textsPerRequest: textsPerRequest)
        report.requests = results.count
        report.failures = results.count - succeeded.count
        report.wrong = wrong
        report.seconds = elapsed
        report.textsPerSecond = Double(succeeded.count * textsPerRequest) / elapsed
        report.latencyMs = [0.5, 0.95, 0.99].map { p in succeeded.isEmpty ? 0 : succeeded[min(succeeded.count - 1, Int((Double(succeeded.count - 1) * p).rounded()))] * 1000 }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(String(format: "%d clients x %d text(s)/request: %d requests (%d failed%@) in %.2f s: %.1f texts/s; latency p50 %.1f ms, p95 %.1f ms, p99 %.1f ms",
                         clients, textsPerRequest, report.requests, report.failures, verify ? ", \(report.wrong) wrong" : "", elapsed, report.textsPerSecond, report.latencyMs[0], report.latencyMs[1], report.latencyMs[2]))
        }
    }

    /// What one request brought back.
    enum Outcome {
        case vectors([[Float]])
        case failed
    }

    private static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        var dot: Float = 0, na: Float = 0, nb: Float = 0
        for (x, y) in zip(a, b) {
            dot += x * y
            na += x * x
            nb += y * y
        }
        return dot / max((na * nb).squareRoot(), .leastNormalMagnitude)
    }

    private func send(_ client: HTTPClient, _ endpoint: String, _ texts: [String]) async throws -> Outcome {
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: ["input": texts, "model": model])))
        let response = try await client.execute(request, timeout: .seconds(300))
        let body = try await response.body.collect(upTo: 256 << 20)
        guard response.status == .ok, body.readableBytes > 0 else { return .failed }
        guard verify else { return .vectors([]) }
        let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
        let data = object?["data"] as? [[String: Any]] ?? []
        return .vectors(data.map { ($0["embedding"] as? [NSNumber] ?? []).map(\.floatValue) })
    }
}
