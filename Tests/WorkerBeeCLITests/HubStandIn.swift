import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization

/// A stand-in for the Hugging Face Hub on loopback, imitating the routes `models pull` uses as the
/// real Hub answers them (see huggingface_hub's `file_download.py` and `hf_api.py`):
///
/// - `GET /api/models/ORG/NAME/revision/REV`: `{"sha": COMMIT, "siblings": [{"rfilename": PATH}]}`;
/// - `HEAD`/`GET /ORG/NAME/resolve/REV/PATH`: an LFS file answers 302 with `Location` on another
///   origin (the "CDN", a second port) and `X-Repo-Commit`, `X-Linked-Etag` (its SHA-256, quoted)
///   and `X-Linked-Size` on the redirect; a small (git) file answers 200 with `ETag` and
///   `X-Repo-Commit`;
/// - the CDN serves `GET /cdn/SHA256` with `Range: bytes=N-` (206);
/// - a gated repository answers 401 with `X-Error-Code: GatedRepo` without the right Bearer token;
///   unknown repositories and files 404 with `RepoNotFound` / `EntryNotFound`.
///
/// Faults for the tests: drop the connection after some bytes of the next CDN download, corrupt
/// one byte of what the CDN sends. It counts metadata requests (and lets a test wait for them), the bytes the CDN sent and whether a
/// token reached the CDN.
final class HubStandIn: Sendable {
    struct Repository {
        var commit: String
        var files: [String: Data]
        /// Files stored as LFS (the rest are small git files).
        var lfs: Set<String>
        var gated = false
    }

    struct State {
        var repositories: [String: Repository] = [:]
        var dropNextDownloadAfter: Int?
        var corrupt = false
        /// Metadata (HEAD) requests so far, and who waits for a number of them.
        var heads = 0
        var headWaiters: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
        /// Bytes the CDN handed to the connection (a dropped connection may lose the last ones).
        var cdnBytesSent = 0
        /// The first byte each CDN request asked for (0 without a range).
        var rangeStarts: [Int] = []
        var cdnRequests = 0
        var tokenSeenByCDN = false
    }

    static let token = "hf_test_token"
    let state = Mutex(State())
    private let ports = Mutex((hub: 0, cdn: 0))
    private let tasks = Mutex<[Task<Void, any Error>]>([])

    var endpoint: String { "http://127.0.0.1:\(ports.withLock { $0.hub })" }

    /// Adds a repository; LFS files are those ending in `.gguf` or `.safetensors`.
    func add(_ name: String, files: [String: Data], gated: Bool = false) {
        let commit = String(SHA256.hash(data: Data(name.utf8)).map { String(format: "%02x", $0) }.joined().prefix(40))
        let lfs = Set(files.keys.filter { $0.hasSuffix(".gguf") || $0.hasSuffix(".safetensors") })
        state.withLock { $0.repositories[name] = Repository(commit: commit, files: files, lfs: lfs, gated: gated) }
    }

    func commit(of name: String) -> String { state.withLock { $0.repositories[name]!.commit } }

    static func sha256(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }

    /// Starts the hub and its CDN on two loopback ports.
    static func start() async throws -> HubStandIn {
        let standIn = HubStandIn()
        // Stopping a server by cancelling it is logged as errors; the tests do not need them.
        var quiet = Logger(label: "hub-stand-in")
        quiet.logLevel = .critical
        for role in ["hub", "cdn"] {
            let (ready, continuation) = AsyncStream.makeStream(of: Int.self)
            let app = Application(
                router: standIn.router(),
                configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
                logger: quiet)
            standIn.tasks.withLock { $0.append(Task { try await app.runService() }) }
            var iterator = ready.makeAsyncIterator()
            let port = await iterator.next() ?? 0
            standIn.ports.withLock { if role == "hub" { $0.hub = port } else { $0.cdn = port } }
        }
        return standIn
    }

    func stop() {
        tasks.withLock { for task in $0 { task.cancel() } }
    }

    /// Returns once `count` metadata (HEAD) requests have arrived in all, or when the task is
    /// cancelled (by the suite's time limit, say).
    func waitForHeads(_ count: Int) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let reached = state.withLock { state in
                    if state.heads < count && !Task.isCancelled { state.headWaiters.append((count, continuation)) }
                    return state.heads >= count || Task.isCancelled
                }
                if reached { continuation.resume() }
            }
        } onCancel: {
            let waiting = state.withLock { state in
                defer { state.headWaiters.removeAll() }
                return state.headWaiters.map(\.continuation)
            }
            for continuation in waiting { continuation.resume() }
        }
    }

    private func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("**") { request, _ in try await self.answer(request, head: false) }
        router.head("**") { request, _ in try await self.answer(request, head: true) }
        return router
    }

    private func error(_ status: HTTPResponse.Status, _ code: String) -> Response {
        var headers = HTTPFields()
        headers[HTTPField.Name("X-Error-Code")!] = code
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: "{\"error\": \"\(code)\"}")))
    }

    private func answer(_ request: Request, head: Bool) async throws -> Response {
        let path = request.uri.path.split(separator: "/").map(String.init)
        let authorized = request.headers[.authorization] == "Bearer \(Self.token)"
        if head {
            let released = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.heads += 1
                let heads = state.heads
                defer { state.headWaiters.removeAll { $0.count <= heads } }
                return state.headWaiters.filter { $0.count <= heads }.map(\.continuation)
            }
            for continuation in released { continuation.resume() }
        }
        if path.first == "cdn", path.count == 2 {
            return cdn(sha: path[1], range: request.headers[.range], token: request.headers[.authorization] != nil)
        }
        let isListing = path.count == 6 && path[0] == "api" && path[1] == "models" && path[4] == "revision"
        let isResolve = path.count >= 5 && path[2] == "resolve"
        guard isListing || isResolve else { return error(.notFound, "NotFound") }
        let name = isListing ? "\(path[2])/\(path[3])" : "\(path[0])/\(path[1])"
        let revision = isListing ? path[5] : path[3]
        guard let repository = state.withLock({ $0.repositories[name] }) else { return error(.notFound, "RepoNotFound") }
        if repository.gated && !authorized { return error(.unauthorized, "GatedRepo") }
        // A pull request's revision, refs/pr/1, travels as one path segment (refs%2Fpr%2F1).
        guard revision == "main" || revision == repository.commit || revision == "refs%2Fpr%2F1" else { return error(.notFound, "RevisionNotFound") }
        if isListing {
            let siblings = repository.files.keys.sorted().map { ["rfilename": $0] }
            let body = try JSONSerialization.data(withJSONObject: ["id": name, "sha": repository.commit, "siblings": siblings])
            return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
        }
        let file = path[4...].joined(separator: "/")
        guard let data = repository.files[file] else { return error(.notFound, "EntryNotFound") }
        var headers = HTTPFields()
        headers[HTTPField.Name("X-Repo-Commit")!] = repository.commit
        if repository.lfs.contains(file) {
            let sha = Self.sha256(data)
            headers[HTTPField.Name("X-Linked-Etag")!] = "\"\(sha)\""
            headers[HTTPField.Name("X-Linked-Size")!] = "\(data.count)"
            headers[.location] = "http://127.0.0.1:\(ports.withLock { $0.cdn })/cdn/\(sha)"
            return Response(status: .found, headers: headers)
        }
        headers[.eTag] = "\"\(Self.sha256(data).prefix(40))\""
        headers[.contentLength] = "\(data.count)"
        return Response(status: .ok, headers: headers, body: head ? ResponseBody() : ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    private func cdn(sha: String, range: String?, token: Bool) -> Response {
        let found = state.withLock { state -> (Data, Int?, Bool)? in
            guard let data = state.repositories.values.lazy.flatMap({ $0.files.values }).first(where: { Self.sha256($0) == sha }) else { return nil }
            state.cdnRequests += 1
            state.tokenSeenByCDN = state.tokenSeenByCDN || token
            let drop = state.dropNextDownloadAfter
            state.dropNextDownloadAfter = nil
            return (data, drop, state.corrupt)
        }
        guard let (served, dropAfter, corrupt) = found else { return error(.notFound, "EntryNotFound") }
        var data = served
        if corrupt { data[data.count / 2] ^= 0xFF }
        var start = 0
        var status = HTTPResponse.Status.ok
        var headers = HTTPFields()
        if let range, range.hasPrefix("bytes="), let from = Int(range.dropFirst(6).split(separator: "-").first ?? "") {
            start = min(from, data.count)
            status = .partialContent
            headers[.contentRange] = "bytes \(start)-\(data.count - 1)/\(data.count)"
        }
        state.withLock { $0.rangeStarts.append(start) }
        let body = data[start...]
        headers[.contentLength] = "\(body.count)"
        return Response(status: status, headers: headers, body: ResponseBody(contentLength: body.count) { writer in
            var offset = body.startIndex
            while offset < body.endIndex {
                let end = min(offset + 16_384, body.endIndex)
                if let dropAfter, offset - body.startIndex >= dropAfter { throw CancellationError() }
                try await writer.write(ByteBuffer(bytes: body[offset..<end]))
                self.state.withLock { $0.cdnBytesSent += end - offset }
                offset = end
            }
            try await writer.finish(nil)
        })
    }
}
