import Foundation
import GGUF
import Synchronization
import WorkerBeeWire

/// The models in a models folder that can embed, as the model-listing routes show them.
///
/// Reading a GGUF header parses its whole vocabulary (tens of milliseconds for 30,000 tokens),
/// so each file is read once and remembered until its size or modification time changes.
package final class ModelCatalog: Sendable {
    /// A model that can embed.
    package struct Entry: Sendable {
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

    /// The model called `name`, if it is in the folder and can embed.
    package func entry(named name: String) -> Entry? {
        let url = folder.resolve(name)
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path) else { return nil }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        let modified = attributes[.modificationDate] as? Date ?? Date(timeIntervalSince1970: 0)
        if let cached = cache.withLock({ $0[url.path] }), cached.size == size, cached.modified == modified { return cached.entry }
        var entry: Entry?
        if let file = try? GGUFFile(contentsOf: url), file.canEmbed, let architecture = file.architecture {
            entry = Entry(name: name, size: size, modified: modified, architecture: architecture, fileType: file.fileTypeName)
        }
        cache.withLock { $0[url.path] = (size, modified, entry) }
        return entry
    }
}
