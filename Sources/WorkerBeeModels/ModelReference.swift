import Foundation

/// Which model to use: a name in the models folder, a `.gguf` file, a file in the Hugging Face
/// cache, or a model in Ollama's store. Written as text the way the command line takes it:
///
/// | text | model |
/// | --- | --- |
/// | `all-minilm-l6-v2` | `<models folder>/all-minilm-l6-v2.gguf` |
/// | `/models/e5.gguf`, `./e5.gguf` | that file |
/// | `hf:ORG/NAME:FILE[@REVISION]` | that file in the Hugging Face cache |
/// | `ollama:NAME[:TAG]` | that model in Ollama's store |
///
/// ```swift
/// let model: ModelReference = "hf:nomic-ai/nomic-embed-text-v1.5-GGUF:nomic-embed-text-v1.5.Q8_0.gguf"
/// let file = ModelReference.file(URL(fileURLWithPath: "/models/e5.gguf"))
/// ```
public struct ModelReference: Sendable, Hashable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// Where the model is.
    public enum Location: Sendable, Hashable {
        /// A name in the models folder.
        case folder(name: String)
        /// A `.gguf` file.
        case file(path: String)
        /// A file in the Hugging Face cache.
        case huggingFace(repository: String, file: String?, revision: String)
        /// A model in Ollama's store (`NAME` or `NAME:TAG`).
        case ollama(name: String)
    }

    /// The reference as text, as the command line and the wire carry it.
    public let description: String

    /// Reads a reference written as text (see the table above).
    public init(_ text: String) { description = text }

    /// Reads a reference written as text.
    public init(stringLiteral text: String) { description = text }

    /// The model in `file`.
    public static func file(_ file: URL) -> ModelReference { ModelReference(file.path) }

    /// Where the model is.
    public var location: Location {
        if description.hasPrefix("ollama:") { return .ollama(name: String(description.dropFirst("ollama:".count))) }
        if description.hasPrefix("hf:") {
            var rest = String(description.dropFirst("hf:".count)), revision = "main"
            if let at = rest.lastIndex(of: "@"), !rest[at...].contains("/") {
                revision = String(rest[rest.index(after: at)...])
                rest = String(rest[..<at])
            }
            let parts = rest.split(separator: ":", maxSplits: 1).map(String.init)
            guard let repository = parts.first else { return .huggingFace(repository: "", file: nil, revision: revision) }
            return .huggingFace(repository: repository, file: parts.count == 2 ? parts[1] : nil, revision: revision)
        }
        if ModelDirectory.isPath(description) { return .file(path: (description as NSString).expandingTildeInPath) }
        return .folder(name: description)
    }

    /// A short name for logs and listings: the folder name, or the file's name without `.gguf`.
    public var displayName: String {
        switch location {
        case .folder(let name): name
        case .file(let path): URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        case .huggingFace(let repository, let file, _): file.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent } ?? repository
        case .ollama(let name): name
        }
    }

    public init(from decoder: any Decoder) throws {
        description = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
