import Foundation
import GGUF
import Synchronization
import WorkerBeeWire

/// The models in a models folder that can embed or rerank, as the model-listing routes show them.
///
/// Reading a GGUF header parses its whole vocabulary (tens of milliseconds for 30,000 tokens),
/// so each file is read once and remembered until its size or modification time changes.
package final class ModelCatalog: Sendable {
    /// A model that can embed, or a reranker.
    package struct Entry: Sendable {
        /// Whether it is a reranker (it scores query-document pairs instead of embedding).
        package let isReranker: Bool
        package let name: String
        package let size: Int
        package let modified: Date
        package let architecture: String
        package let fileType: String
    }

    private let folder: ModelDirectory
    private let cache = Mutex<[String: (size: Int, modified: Date, entry: Entry?)]>([:])

    package init(folder: ModelDirectory) {
        self.folder = folder
    }

    /// The models whose GGUF declares a pooling type (so they embed), sorted by name.
    package func embeddingModels() -> [Entry] {
        folder.modelNames().compactMap(entry(named:))
    }

    /// The rerankers (rank pooling), sorted by name.
    package func rerankers() -> [Entry] {
        folder.modelNames().compactMap(reranker(named:))
    }

    /// The reranker called `name`, if it is in the folder.
    package func reranker(named name: String) -> Entry? {
        usableEntry(named: name).flatMap { $0.isReranker ? $0 : nil }
    }

    /// Why the model called `name` cannot rerank, when it is in the folder but is something else;
    /// nil when it is a reranker or is not there.
    package func whyCannotRerank(_ name: String) -> String? {
        if let entry = usableEntry(named: name) {
            return entry.isReranker ? nil : "it is an embedding model: it embeds texts and cannot score query-document pairs; rerank with a reranker (a cross-encoder with rank pooling)"
        }
        guard let file = try? GGUFFile(contentsOf: folder.resolve(name)) else { return nil }
        return Self.refusal(of: file) ?? "it is a \(file.architecture ?? "unknown") model without a pooling type (a text generator or a vision model); it cannot rerank"
    }

    /// Why the model called `name` cannot embed, when it is in the folder but is something else
    /// (a reranker, a vision model, a projector); nil when it can embed or is not there.
    package func whyCannotEmbed(_ name: String) -> String? {
        guard entry(named: name) == nil, let file = try? GGUFFile(contentsOf: folder.resolve(name)) else { return nil }
        return Self.refusal(of: file) ?? "it is a \(file.architecture ?? "unknown") model without a pooling type (a text generator or a vision model); it cannot embed"
    }

    /// Why a model that declares a pooling type still cannot embed.
    private static func refusal(of file: GGUFFile) -> String? {
        guard let architecture = file.architecture else { return "it declares no architecture" }
        if architecture == "clip" { return "it is a vision projector (mmproj), used with a vision model; it cannot embed" }
        if file.isReranker {
            return "it is a reranker (rank pooling): it scores query-document pairs and cannot embed; POST /v1/rerank scores with it"
        }
        return nil
    }

    /// The model called `name`, if it is in the folder and can embed.
    package func entry(named name: String) -> Entry? {
        usableEntry(named: name).flatMap { $0.isReranker ? nil : $0 }
    }

    /// The model called `name`, if it is in the folder and embeds or reranks.
    private func usableEntry(named name: String) -> Entry? {
        let url = folder.resolve(name)
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path) else { return nil }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        let modified = attributes[.modificationDate] as? Date ?? Date(timeIntervalSince1970: 0)
        if let cached = cache.withLock({ $0[url.path] }), cached.size == size, cached.modified == modified { return cached.entry }
        var entry: Entry?
        if let file = try? GGUFFile(contentsOf: url), file.canEmbed, file.isReranker || Self.refusal(of: file) == nil, let architecture = file.architecture {
            entry = Entry(isReranker: file.isReranker, name: name, size: size, modified: modified, architecture: architecture, fileType: file.fileTypeName)
        }
        cache.withLock { $0[url.path] = (size, modified, entry) }
        return entry
    }
}
