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

    /// Whether `reference` names a file rather than a model in this folder: it contains a
    /// slash or ends in `.gguf`.
    public static func isPath(_ reference: String) -> Bool {
        reference.contains("/") || reference.hasSuffix(".gguf")
    }

    /// The file a model reference points at: a path as given, or `<folder>/<name>.gguf`.
    public func resolve(_ reference: String) -> URL {
        if Self.isPath(reference) {
            return URL(fileURLWithPath: (reference as NSString).expandingTildeInPath)
        }
        return url.appendingPathComponent(reference + ".gguf")
    }

    /// The names of the models in the folder, sorted.
    public func modelNames() -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return files.filter { $0.hasSuffix(".gguf") && !$0.hasPrefix(".") }.map { String($0.dropLast(5)) }.sorted()
    }
}
