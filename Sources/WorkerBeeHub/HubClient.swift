import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import WorkerBeeWire
import WorkerBeeModels

/// Downloads files from the Hugging Face Hub into its cache (``HubCache``), the way
/// `huggingface_hub`'s `hf_hub_download` does, so the files are shared with Python tools:
///
/// - `GET /api/models/REPO/revision/REV` lists a revision's files and its commit;
/// - `HEAD /REPO/resolve/COMMIT/FILE`, redirects not followed, gives the file's metadata:
///   `X-Repo-Commit`, `X-Linked-Etag` (an LFS file's SHA-256) or `ETag`, `X-Linked-Size` or
///   `Content-Length`, and for an LFS file a `Location` on another host (the CDN);
/// - the file is fetched from there into `blobs/ETAG.incomplete`, continued with a `Range`
///   request when a previous pull was cut, checked (size, and SHA-256 for LFS files), and only
///   then renamed to `blobs/ETAG` and linked from `snapshots/COMMIT/FILE`;
/// - a lock file per blob under `.locks/` keeps two pulls of one file from writing it at once.
///
/// `HF_ENDPOINT` replaces `https://huggingface.co`, `HF_TOKEN` is sent as a Bearer token (not to
/// another host a redirect points at), `HF_HUB_OFFLINE=1` forbids the network.
package struct HubClient: Sendable {
    package let endpoint: String
    package let token: String?
    package let cache: HubCache
    package let offline: Bool
    /// Sent as `User-Agent`.
    package let userAgent: String
    /// Where a pull says what it does.
    package let progress: HubProgress

    /// A client configured from `environment` (`HF_ENDPOINT`, `HF_TOKEN`, `HF_HUB_OFFLINE`,
    /// `HF_HUB_CACHE`/`HF_HOME`).
    package init(environment: [String: String] = ProcessInfo.processInfo.environment, userAgent: String, progress: HubProgress = .silent) {
        endpoint = (environment["HF_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://huggingface.co").trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        token = environment["HF_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        cache = HubCache.standard(environment: environment)
        offline = ["1", "true", "yes", "on"].contains((environment["HF_HUB_OFFLINE"] ?? "").lowercased())
        self.userAgent = userAgent
        self.progress = progress
    }

    /// A revision's commit and the paths of its files.
    package struct Listing {
        package let commit: String
        package let files: [String]
    }

    /// What the Hub says about one file.
    package struct Metadata {
        package let commit: String
        package let etag: String
        package let size: Int
        /// Where the bytes are (the CDN for an LFS file).
        package let location: String
        /// An LFS file's etag is the SHA-256 of its content.
        package var sha256: String? { etag.count == 64 && etag.allSatisfy(\.isHexDigit) ? etag.lowercased() : nil }
    }

    private static let client = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(30), read: .seconds(60))))

    private func request(_ url: String, method: HTTPMethod = .GET, authorize: Bool = true) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "User-Agent", value: userAgent)
        request.headers.add(name: "Accept-Encoding", value: "identity")
        if authorize, let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        return request
    }

    /// `text` percent-encoded as one URL path segment (a revision such as `refs/pr/1` keeps its
    /// slashes inside the segment, as the Hub expects).
    package static func segment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? text
    }

    /// Turns a refusal into an error that says what to do, from the status and the Hub's
    /// `X-Error-Code` header.
    private func refusal(_ response: HTTPClientResponse, _ what: String) -> HubError {
        let code = response.headers.first(name: "X-Error-Code") ?? ""
        switch (response.status.code, code) {
        case (401, "GatedRepo"), (403, "GatedRepo"):
            return HubError(.unauthorized, "\(what) is gated: accept its terms on the Hub, then set HF_TOKEN to a token of that account")
        case (401, _), (403, _):
            return HubError(.unauthorized, "\(what) needs authorization (private, gated or mistyped): set HF_TOKEN\(token == nil ? "" : " (the HF_TOKEN given was refused)")")
        case (404, "RevisionNotFound"):
            return HubError(.notFound, "\(what): no such revision")
        case (404, "EntryNotFound"):
            return HubError(.notFound, "\(what): no such file")
        case (404, _):
            return HubError(.notFound, "\(what) was not found on \(endpoint)")
        default:
            return HubError(.server, "\(what): the Hub answered \(response.status)")
        }
    }

    /// The files of `repository` at `revision`.
    package func listing(of repository: String, revision: String) async throws -> Listing {
        let url = "\(endpoint)/api/models/\(repository)/revision/\(Self.segment(revision))"
        let response = try await Self.client.execute(request(url), timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 64 << 20)
        guard response.status == .ok else { throw refusal(response, repository) }
        guard let json = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
              let commit = json["sha"] as? String,
              let siblings = json["siblings"] as? [[String: Any]] else {
            throw HubError(.server, "the Hub's listing of \(repository) is not what was expected")
        }
        return Listing(commit: commit, files: siblings.compactMap { $0["rfilename"] as? String }.sorted())
    }

    /// The metadata of `path` in `repository` at `revision`, following only relative redirects
    /// (a renamed repository), as `huggingface_hub` does.
    package func metadata(of path: String, in repository: String, revision: String) async throws -> Metadata {
        var url = "\(endpoint)/\(repository)/resolve/\(Self.segment(revision))/\(path.split(separator: "/").map { Self.segment(String($0)) }.joined(separator: "/"))"
        for _ in 0..<5 {
            let response = try await Self.client.execute(request(url, method: .HEAD), timeout: .seconds(60))
            let location = response.headers.first(name: "Location")
            if (300..<400).contains(Int(response.status.code)), let location, location.hasPrefix("/") {
                url = endpoint + location
                continue
            }
            guard response.status == .ok || (300..<400).contains(Int(response.status.code)) else { throw refusal(response, "\(repository):\(path)") }
            let unquote = { (value: String) in value.trimmingCharacters(in: CharacterSet(charactersIn: "\"")).replacingOccurrences(of: "W/", with: "") }
            guard let commit = response.headers.first(name: "X-Repo-Commit"),
                  let etag = (response.headers.first(name: "X-Linked-Etag") ?? response.headers.first(name: "ETag")).map(unquote),
                  let size = (response.headers.first(name: "X-Linked-Size") ?? response.headers.first(name: "Content-Length")).flatMap({ Int($0) }) else {
                throw HubError(.server, "the Hub gave no commit, etag or size for \(repository):\(path)")
            }
            return Metadata(commit: commit, etag: etag, size: size, location: location ?? url)
        }
        throw HubError(.server, "too many redirects for \(repository):\(path)")
    }

    /// Makes `path` of `repository` at `revision` complete in the cache and returns its snapshot
    /// path; downloads only what is missing.
    package func fetch(_ path: String, of repository: String, revision: String) async throws -> URL {
        if offline {
            guard let file = cache.file(path, of: repository, revision: revision) else {
                throw HubError(.offline, "HF_HUB_OFFLINE is set and \(repository):\(path) (\(revision)) is not in the cache \(cache.url.path)")
            }
            return file
        }
        let metadata = try await metadata(of: path, in: repository, revision: revision)
        let folder = cache.folder(of: repository)
        let blob = folder.appendingPathComponent("blobs").appendingPathComponent(metadata.etag)
        let manager = FileManager.default
        try manager.createDirectory(at: blob.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !manager.fileExists(atPath: blob.path) {
            let lock = try await BlobLock.acquire(cache.url.appendingPathComponent(".locks").appendingPathComponent(folder.lastPathComponent).appendingPathComponent(metadata.etag + ".lock"), progress: progress)
            defer { lock.release() }
            // Another pull may have finished it while this one waited for the lock.
            if !manager.fileExists(atPath: blob.path) { try await download(metadata, named: "\(repository):\(path)", into: blob) }
        } else {
            progress.note("\(repository):\(path): already in the cache (\(ByteSize.describe(metadata.size)))")
        }
        let snapshot = folder.appendingPathComponent("snapshots").appendingPathComponent(metadata.commit).appendingPathComponent(path)
        try manager.createDirectory(at: snapshot.deletingLastPathComponent(), withIntermediateDirectories: true)
        if (try? manager.destinationOfSymbolicLink(atPath: snapshot.path)) == nil || !manager.fileExists(atPath: snapshot.path) {
            try? manager.removeItem(at: snapshot)
            // Relative, as huggingface_hub makes it: up from snapshots/COMMIT/<dirs of path>.
            let depth = path.split(separator: "/").count + 1
            try manager.createSymbolicLink(atPath: snapshot.path, withDestinationPath: String(repeating: "../", count: depth) + "blobs/" + metadata.etag)
        }
        if !HubCache.isCommitHash(revision) {
            let ref = folder.appendingPathComponent("refs").appendingPathComponent(revision)
            try manager.createDirectory(at: ref.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(metadata.commit.utf8).write(to: ref, options: .atomic)
        }
        return snapshot
    }

    /// Fetches the bytes into `blob.incomplete`, continuing what is there, checks them and
    /// renames the file to `blob`.
    private func download(_ metadata: Metadata, named name: String, into blob: URL) async throws {
        let partial = blob.appendingPathExtension("incomplete")
        let manager = FileManager.default
        if !manager.fileExists(atPath: partial.path) { manager.createFile(atPath: partial.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: partial)
        defer { try? handle.close() }
        var have = Int(try handle.seekToEnd())
        if have > metadata.size {
            try handle.truncate(atOffset: 0)
            have = 0
        }
        let start = Date()
        let resumedFrom = have
        if have < metadata.size {
            // The token goes only to the Hub itself, not to the host a redirect names.
            let origin = { (url: URL?) in url.map { "\($0.scheme ?? "")://\($0.host ?? ""):\($0.port ?? -1)" } }
            var request = request(metadata.location, authorize: origin(URL(string: metadata.location)) == origin(URL(string: endpoint)))
            if have > 0 { request.headers.add(name: "Range", value: "bytes=\(have)-") }
            let response = try await Self.client.execute(request, timeout: .hours(24))
            switch response.status {
            case .partialContent: break
            case .ok:
                // The server ignored the range: start over.
                try handle.truncate(atOffset: 0)
                have = 0
            default:
                throw refusal(response, name)
            }
            let meter = progress.meter(metadata.size)
            do {
                for try await buffer in response.body {
                    try handle.write(contentsOf: Data(buffer.readableBytesView))
                    have += buffer.readableBytes
                    meter(have)
                }
            } catch {
                meter(nil)
                throw HubError(.interrupted, "\(name): the download stopped at \(ByteSize.describe(have)) of \(ByteSize.describe(metadata.size)) (\(error)); pull again to continue from there")
            }
            meter(nil)
        }
        try handle.synchronize()
        guard have == metadata.size else {
            throw HubError(.interrupted, "\(name): got \(ByteSize.describe(have)) of \(ByteSize.describe(metadata.size)); pull again to continue from there")
        }
        if let expected = metadata.sha256 {
            let actual = try Self.sha256(of: partial)
            guard actual == expected else {
                try? manager.removeItem(at: partial)
                throw HubError(.checksumMismatch, "\(name): the downloaded file's SHA-256 is \(actual), the Hub announced \(expected); the partial file was deleted, pull again")
            }
        }
        try manager.moveItem(at: partial, to: blob)
        let seconds = Date().timeIntervalSince(start)
        progress.note(String(format: "%@: %@%@ in %.1f s%@", name, ByteSize.describe(have - resumedFrom), resumedFrom > 0 ? " (continued from \(ByteSize.describe(resumedFrom)))" : "",
                          seconds, metadata.sha256 != nil ? ", SHA-256 checked" : ""))
    }

    /// The SHA-256 of a file, read in 4 MiB pieces, as lowercase hex.
    package static func sha256(of file: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: file)
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
