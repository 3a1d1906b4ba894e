import Foundation

/// The Hugging Face Hub's cache on disk, as `huggingface_hub` lays it out, so that files are
/// shared with Python tools: `models--ORG--NAME/blobs/<etag>` holds each file once,
/// `snapshots/<commit>/<path>` links to it, `refs/<revision>` names a revision's commit.
///
/// The folder is `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`,
/// else `~/.cache/huggingface/hub`.
public struct HubCache: Sendable, Equatable {
    /// The cache folder.
    public let url: URL

    /// Uses `url` as the cache folder.
    public init(url: URL) { self.url = url }

    /// The cache the environment names (see the type's description).
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> HubCache {
        func set(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : ($0 as NSString).expandingTildeInPath } }
        if let cache = set("HF_HUB_CACHE") { return HubCache(url: URL(fileURLWithPath: cache, isDirectory: true)) }
        if let home = set("HF_HOME") { return HubCache(url: URL(fileURLWithPath: home, isDirectory: true).appendingPathComponent("hub", isDirectory: true)) }
        let base = set("XDG_CACHE_HOME").map { URL(fileURLWithPath: $0, isDirectory: true) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache", isDirectory: true)
        return HubCache(url: base.appendingPathComponent("huggingface/hub", isDirectory: true))
    }

    /// The folder of model repository `repository` (`ORG/NAME`).
    public func folder(of repository: String) -> URL {
        url.appendingPathComponent("models--" + repository.replacingOccurrences(of: "/", with: "--"), isDirectory: true)
    }

    /// The commit a revision (branch, tag or commit hash) points at, from `refs/`; a 40-digit
    /// hash is its own commit.
    public func commit(of repository: String, revision: String) -> String? {
        if Self.isCommitHash(revision) { return revision }
        let ref = folder(of: repository).appendingPathComponent("refs").appendingPathComponent(revision)
        return (try? String(contentsOf: ref, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The cached file `path` of `repository` at `revision`, if it is complete in the cache.
    public func file(_ path: String, of repository: String, revision: String = "main") -> URL? {
        guard let commit = commit(of: repository, revision: revision) else { return nil }
        let file = folder(of: repository).appendingPathComponent("snapshots").appendingPathComponent(commit).appendingPathComponent(path)
        return FileManager.default.fileExists(atPath: file.path) ? file : nil
    }

    /// Whether `revision` is a full commit hash (40 hexadecimal digits).
    public static func isCommitHash(_ revision: String) -> Bool {
        revision.count == 40 && revision.allSatisfy(\.isHexDigit)
    }

    /// A GGUF file found in the cache, under the name `hf:ORG/NAME:PATH` that ``ModelDirectory``
    /// resolves.
    public struct Entry: Sendable, Equatable {
        /// The repository, `ORG/NAME`.
        public let repository: String
        /// The file's path inside the repository.
        public let path: String
        /// The file in the cache (a link into `blobs/`).
        public let url: URL
        /// The model reference, `hf:ORG/NAME:PATH`.
        public var name: String { "hf:\(repository):\(path)" }
    }

    /// The GGUF files of every model repository's `main` revision (or, without refs, its only
    /// snapshot), sorted by name; projector (`mmproj`) files included.
    public func ggufFiles() -> [Entry] {
        let manager = FileManager.default
        var entries: [Entry] = []
        for folder in (try? manager.contentsOfDirectory(atPath: url.path)) ?? [] where folder.hasPrefix("models--") {
            let repository = folder.dropFirst("models--".count).replacingOccurrences(of: "--", with: "/")
            let snapshots = url.appendingPathComponent(folder).appendingPathComponent("snapshots")
            let all = (try? manager.contentsOfDirectory(atPath: snapshots.path)) ?? []
            guard let commit = commit(of: repository, revision: "main") ?? (all.count == 1 ? all.first : nil) else { continue }
            let snapshot = snapshots.appendingPathComponent(commit)
            guard let walker = manager.enumerator(atPath: snapshot.path) else { continue }
            for case let path as String in walker where path.lowercased().hasSuffix(".gguf") {
                let file = snapshot.appendingPathComponent(path)
                if manager.fileExists(atPath: file.path) { entries.append(Entry(repository: repository, path: path, url: file)) }
            }
        }
        return entries.sorted { $0.name < $1.name }
    }
}
