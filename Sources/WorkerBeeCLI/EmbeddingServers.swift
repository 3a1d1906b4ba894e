import AsyncHTTPClient
import BinaryCoding
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// The servers `workerbee embed --server` sends its texts to (WorkerBee servers, a load balancer
/// in front of them, or any server with OpenAI's `/v1/embeddings`). Each piece of the job goes to
/// the next server in turn. A server that refuses the connection, drops it, stops answering, or
/// answers 429, 502, 503 or 504 rests a while (longer each time in a row) and the piece goes to
/// another; the job gives up only when no server has answered for `giveUpAfter`.
final class EmbeddingServers: Sendable {
    /// What every request asks for besides its texts.
    struct Request: Sendable {
        var model: String
        var normalize: Bool
        var promptName: String?
        var apiKey: String?
    }

    /// The base addresses, without a trailing slash.
    let endpoints: [String]
    let request: Request
    private let giveUpAfter: Duration
    private let requestTimeout: Duration
    private let client: HTTPClient
    private let state: Mutex<State>

    private struct State {
        var next = 0
        /// Per server: until when it rests, and how many failures in a row it had.
        var restingUntil: [ContinuousClock.Instant]
        var failuresInARow: [Int]
        /// When any server last answered (or when the job began).
        var lastAnswer = ContinuousClock.now
        /// Pieces sent again to another server after a failure.
        var resent = 0
    }

    /// - Parameters:
    ///   - endpoints: base URLs (`http://host:port`).
    ///   - concurrency: the most requests in flight at once.
    init(endpoints: [String], request: Request, concurrency: Int, giveUpAfter: Duration, requestTimeout: Duration = .seconds(600)) {
        self.endpoints = endpoints
        self.request = request
        self.giveUpAfter = giveUpAfter
        self.requestTimeout = requestTimeout
        client = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(
                timeout: .init(connect: .seconds(5)),
                connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, concurrency))))
        let now = ContinuousClock.now
        state = Mutex(State(restingUntil: Array(repeating: now, count: endpoints.count), failuresInARow: Array(repeating: 0, count: endpoints.count)))
    }

    /// Pieces that went to another server after one failed them.
    var resentCount: Int { state.withLock { $0.resent } }

    /// Closes the connections.
    func shutdown() async { try? await client.shutdown() }

    /// The vectors of `texts`, in order, from whichever server answers.
    /// - Throws: ``EmbeddingServerError``: `.textFailed` when a server answered 500 (a text in
    ///   `texts` crashed its worker every time; the caller narrows it down), `.refused` for an
    ///   answer that sending elsewhere cannot change (401, 400, 404, 413, ...), `.unreachable` when
    ///   no server answered for `giveUpAfter`.
    func embed(_ texts: [String]) async throws -> [[Float]] {
        var sentBefore = false
        while true {
            let (server, wait) = pick()
            if wait > .zero { try await Task.sleep(for: wait) }
            if sentBefore { state.withLock { $0.resent += 1 } }
            sentBefore = true
            let endpoint = endpoints[server]
            let problem: String
            do {
                let (status, body) = try await post(texts, to: endpoint)
                switch status.code {
                case 200:
                    answered(server)
                    return try Self.vectors(in: body, count: texts.count, from: endpoint)
                case 429, 502, 503, 504:
                    problem = "\(endpoint) answered \(status.code)"
                case 500:
                    answered(server)
                    throw EmbeddingServerError(.textFailed, Self.message(in: body) ?? "\(endpoint) answered 500")
                case 401:
                    throw EmbeddingServerError(.refused, "\(endpoint) refused the API key (401): pass --api-key or set WORKERBEE_API_KEY")
                default:
                    throw EmbeddingServerError(.refused, "\(endpoint) answered \(status.code): \(Self.message(in: body) ?? String(decoding: body.prefix(300), as: UTF8.self))")
                }
            } catch let error as EmbeddingServerError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                problem = "\(endpoint): \(error)"
            }
            if let silence = failed(server) {
                throw EmbeddingServerError(.unreachable, "no server answered for \(silence.components.seconds) s; last: \(problem)")
            }
        }
    }

    private func post(_ texts: [String], to endpoint: String) async throws -> (HTTPResponseStatus, Data) {
        var object: [String: Any] = ["input": texts, "model": request.model, "encoding_format": "base64", "normalize": request.normalize]
        if let promptName = request.promptName { object["prompt_name"] = promptName }
        var http = HTTPClientRequest(url: endpoint + "/v1/embeddings")
        http.method = .POST
        http.headers.add(name: "Content-Type", value: "application/json")
        if let key = request.apiKey { http.headers.add(name: "Authorization", value: "Bearer \(key)") }
        http.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object)))
        let response = try await client.execute(http, timeout: .init(requestTimeout))
        let body = try await response.body.collect(upTo: 1 << 30)
        return (response.status, Data(buffer: body))
    }

    /// The server to send to next and how long to wait first (when every server rests).
    private func pick() -> (Int, Duration) {
        state.withLock { state in
            let now = ContinuousClock.now
            let count = endpoints.count
            for offset in 0..<count {
                let server = (state.next + offset) % count
                if state.restingUntil[server] <= now {
                    state.next = server + 1
                    return (server, .zero)
                }
            }
            let server = state.restingUntil.indices.min { state.restingUntil[$0] < state.restingUntil[$1] }!
            state.next = server + 1
            return (server, state.restingUntil[server] - now)
        }
    }

    private func answered(_ server: Int) {
        state.withLock { state in
            state.failuresInARow[server] = 0
            state.lastAnswer = .now
        }
    }

    /// Rests `server` (0.25 s, doubling with each failure in a row, at most 8 s). Returns how long
    /// no server has answered when that is past `giveUpAfter`, else nil.
    private func failed(_ server: Int) -> Duration? {
        state.withLock { state in
            let now = ContinuousClock.now
            state.failuresInARow[server] += 1
            let rest = Duration.milliseconds(250) * (1 << min(5, state.failuresInARow[server] - 1))
            state.restingUntil[server] = now + rest
            let silence = now - state.lastAnswer
            return silence > giveUpAfter ? silence : nil
        }
    }

    /// OpenAI's `data[i].embedding`, base64 of little-endian float32, in `index` order.
    static func vectors(in body: Data, count: Int, from endpoint: String) throws -> [[Float]] {
        guard let json = try? JSONSerialization.jsonObject(with: body) as? [String: Any], let data = json["data"] as? [[String: Any]], data.count == count else {
            throw EmbeddingServerError(.malformedAnswer, "\(endpoint) answered 200 without \(count) embeddings: \(String(decoding: body.prefix(200), as: UTF8.self))")
        }
        var vectors = [[Float]](repeating: [], count: count)
        for entry in data {
            guard let index = (entry["index"] as? NSNumber)?.intValue, vectors.indices.contains(index),
                let encoded = entry["embedding"] as? String, let bytes = Data(base64Encoded: encoded), bytes.count % 4 == 0
            else { throw EmbeddingServerError(.malformedAnswer, "\(endpoint) answered an embedding that is not base64 float32 with an index") }
            var reader = ByteReader(bytes)
            vectors[index] = try reader.readFloats(bytes.count / 4)
        }
        return vectors
    }

    /// The error message of any of the APIs' error shapes.
    static func message(in body: Data) -> String? {
        guard let json = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { return nil }
        if let error = json["error"] as? [String: Any] { return error["message"] as? String }
        return json["error"] as? String
    }
}
