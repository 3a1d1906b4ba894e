import Foundation

/// The WorkerBee home (`$WORKERBEE_HOME`, default `~/.workerbee`) and its models folder.
public struct ModelDirectory: Sendable, Equatable {
    /// The name of the model the bootstrap installs and every command uses by default.
    public static let defaultEmbeddingModel = "all-minilm-l6-v2"

    /// The folder holding `<name>.gguf` files.
    public let url: URL

    /// Uses `url` as the models folder.
    public init(url: URL) { self.url = url }

    /// `$WORKERBEE_HOME`, or `~/.workerbee`.
    public static var home: URL {
        if let home = ProcessInfo.processInfo.environment["WORKERBEE_HOME"], !home.isEmpty {
            return URL(fileURLWithPath: home, isDirectory: true)
        }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".workerbee", isDirectory: true)
    }

    /// The models folder of the WorkerBee home.
    public static var standard: ModelDirectory { ModelDirectory(url: home.appendingPathComponent("models", isDirectory: true)) }

    /// Whether `reference` names a file rather than a model in this folder or another tool's
    /// store: it contains a slash or ends in `.gguf`, and does not start with `hf:` or `ollama:`.
    public static func isPath(_ reference: String) -> Bool {
        !isStoreName(reference) && (reference.contains("/") || reference.hasSuffix(".gguf"))
    }

    /// Whether `reference` names a model in the Hugging Face cache (`hf:ORG/NAME:FILE`) or in
    /// Ollama's store (`ollama:NAME[:TAG]`).
    public static func isStoreName(_ reference: String) -> Bool {
        reference.hasPrefix("hf:") || reference.hasPrefix("ollama:")
    }

    /// The file a model reference points at: a path as given; `hf:ORG/NAME:FILE[@REVISION]` in
    /// the Hugging Face cache (``HubCache``); `ollama:NAME[:TAG]` in Ollama's store
    /// (``OllamaStore``); else `<folder>/<name>.gguf`. A store name that is not there resolves to
    /// a path that does not exist, which callers report as a missing model.
    public func resolve(_ reference: String) -> URL {
        let environment = ProcessInfo.processInfo.environment
        if reference.hasPrefix("ollama:") {
            let name = String(reference.dropFirst("ollama:".count))
            let store = OllamaStore.standard(environment: environment)
            return store.entry(name)?.model ?? store.manifest(for: name)
        }
        if reference.hasPrefix("hf:") {
            let cache = HubCache.standard(environment: environment)
            var rest = String(reference.dropFirst("hf:".count)), revision = "main"
            if let at = rest.lastIndex(of: "@"), !rest[at...].contains("/") {
                revision = String(rest[rest.index(after: at)...])
                rest = String(rest[..<at])
            }
            let parts = rest.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { return cache.folder(of: rest) }
            return cache.file(parts[1], of: parts[0], revision: revision)
                ?? cache.folder(of: parts[0]).appendingPathComponent("snapshots/\(revision)").appendingPathComponent(parts[1])
        }
        if Self.isPath(reference) {
            return URL(fileURLWithPath: (reference as NSString).expandingTildeInPath)
        }
        return url.appendingPathComponent(reference + ".gguf")
    }

    /// The projector a store names for `reference`: the projector layer of an `ollama:` model
    /// (whose blob no `*mmproj*` search would find); nil for everything else.
    public func storedProjector(for reference: String) -> URL? {
        guard reference.hasPrefix("ollama:") else { return nil }
        return OllamaStore.standard().entry(String(reference.dropFirst("ollama:".count)))?.projector
    }

    /// The names of the models in the folder, sorted.
    public func modelNames() -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return files.filter { $0.hasSuffix(".gguf") && !$0.hasPrefix(".") }.map { String($0.dropLast(5)) }.sorted()
    }
}

extension ModelDirectory {
    /// The size in bytes of the file `model` points at; 0 when there is none.
    public func fileSize(of model: ModelReference) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: resolve(model).path)[.size] as? NSNumber)?.intValue ?? 0
    }

    /// The file `model` points at (see ``resolve(_:)``, the text form).
    public func resolve(_ model: ModelReference) -> URL { resolve(model.description) }
}
