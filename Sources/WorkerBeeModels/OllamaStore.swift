import Foundation

/// Ollama's model store, read-only: `manifests/REGISTRY/NAMESPACE/NAME/TAG` are JSON manifests
/// whose layer of media type `application/vnd.ollama.image.model` is the GGUF file, stored as
/// `blobs/sha256-<digest>` (a vision model's projector is the `...image.projector` layer).
///
/// The folder is `$OLLAMA_MODELS`, else `~/.ollama/models`. Names are Ollama's: `nomic-embed-text`
/// (tag `latest`), `nomic-embed-text:v1.5`, `user/model:tag` or `host/user/model:tag`.
public struct OllamaStore: Sendable, Equatable {
    /// The store's folder.
    public let url: URL

    /// Uses `url` as the store's folder.
    public init(url: URL) { self.url = url }

    /// The store the environment names.
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> OllamaStore {
        if let folder = environment["OLLAMA_MODELS"], !folder.isEmpty {
            return OllamaStore(url: URL(fileURLWithPath: (folder as NSString).expandingTildeInPath, isDirectory: true))
        }
        return OllamaStore(url: FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".ollama/models", isDirectory: true))
    }

    static let defaultRegistry = "registry.ollama.ai", defaultNamespace = "library"
    static let modelLayer = "application/vnd.ollama.image.model", projectorLayer = "application/vnd.ollama.image.projector"

    /// A model in the store.
    public struct Entry: Sendable, Equatable {
        /// Ollama's name with its tag, e.g. `nomic-embed-text:latest`.
        public let name: String
        /// The GGUF blob.
        public let model: URL
        /// The projector blob of a vision model.
        public let projector: URL?
    }

    /// The manifest file for `name` (`NAME[:TAG]`, with optional `NAMESPACE/` and `HOST/`).
    func manifest(for name: String) -> URL {
        let (path, tag) = Self.split(name)
        var parts = path.split(separator: "/").map(String.init)
        if parts.count == 1 { parts.insert(Self.defaultNamespace, at: 0) }
        if parts.count == 2 { parts.insert(Self.defaultRegistry, at: 0) }
        return parts.reduce(url.appendingPathComponent("manifests")) { $0.appendingPathComponent($1) }.appendingPathComponent(tag)
    }

    private static func split(_ name: String) -> (String, String) {
        // A tag follows the last colon after the last slash.
        let lastSlash = name.lastIndex(of: "/") ?? name.startIndex
        if let colon = name[lastSlash...].lastIndex(of: ":") {
            return (String(name[..<colon]), String(name[name.index(after: colon)...]))
        }
        return (name, "latest")
    }

    /// The model named `name`, or nil when the store has no such manifest or it names no model
    /// layer whose blob is present.
    public func entry(_ name: String) -> Entry? {
        let file = manifest(for: name)
        guard let data = try? Data(contentsOf: file),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let layers = json["layers"] as? [[String: Any]] else { return nil }
        func blob(_ mediaType: String) -> URL? {
            guard let digest = layers.first(where: { $0["mediaType"] as? String == mediaType })?["digest"] as? String else { return nil }
            let blob = url.appendingPathComponent("blobs").appendingPathComponent(digest.replacingOccurrences(of: ":", with: "-"))
            return FileManager.default.fileExists(atPath: blob.path) ? blob : nil
        }
        guard let model = blob(Self.modelLayer) else { return nil }
        let (path, tag) = Self.split(name)
        return Entry(name: "\(path):\(tag)", model: model, projector: blob(Self.projectorLayer))
    }

    /// Every model in the store, sorted by name (the default registry and namespace left out of
    /// the names, as `ollama list` shows them).
    public func entries() -> [Entry] {
        let root = url.appendingPathComponent("manifests")
        guard let walker = FileManager.default.enumerator(atPath: root.path) else { return [] }
        var entries: [Entry] = []
        for case let path as String in walker {
            let parts = path.split(separator: "/").map(String.init)
            guard parts.count == 4 else { continue }
            var name = parts[0...2].joined(separator: "/")
            if name.hasPrefix(Self.defaultRegistry + "/") { name.removeFirst(Self.defaultRegistry.count + 1) }
            if name.hasPrefix(Self.defaultNamespace + "/") { name.removeFirst(Self.defaultNamespace.count + 1) }
            if let entry = entry(name + ":" + parts[3]) { entries.append(entry) }
        }
        return entries.sorted { $0.name < $1.name }
    }
}
