import Foundation
import Synchronization

/// Models known to crash llama.cpp, remembered per file so that the next attempt fails in
/// milliseconds without spawning a worker.
///
/// A verdict is kept in `model-verdicts.json` in the worker's log folder (the WorkerBee home by
/// default), keyed by the file's path and valid only while the file keeps its size and
/// modification time: replacing the file clears it.
package struct ModelVerdicts: Sendable {
    /// Why a model was judged broken.
    package struct Verdict: Codable, Sendable, Equatable {
        /// The file's size when it crashed.
        package var size: UInt64
        /// The file's modification time (seconds since 1970) when it crashed.
        package var modified: Double
        /// The native reason and how the worker died, in one line.
        package var reason: String
    }

    /// The JSON file holding the verdicts.
    package let url: URL
    private static let lock = Mutex(())

    /// Verdicts stored in `directory/model-verdicts.json`.
    package init(directory: URL) {
        url = directory.appendingPathComponent("model-verdicts.json")
    }

    /// The verdict on `model`, if one was recorded for the file as it is now.
    package func verdict(for model: URL) -> Verdict? {
        guard let identity = Self.identity(of: model) else { return nil }
        let verdicts = Self.lock.withLock { _ in load() }
        guard let verdict = verdicts[model.standardizedFileURL.path], verdict.size == identity.size, verdict.modified == identity.modified else {
            return nil
        }
        return verdict
    }

    /// Records that `model`, as it is now, crashes llama.cpp.
    package func record(_ model: URL, reason: String) {
        guard let identity = Self.identity(of: model) else { return }
        Self.lock.withLock { _ in
            var verdicts = load()
            verdicts[model.standardizedFileURL.path] = Verdict(size: identity.size, modified: identity.modified, reason: reason)
            try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            if let data = try? JSONEncoder().encode(verdicts) {
                let temporary = url.appendingPathExtension("\(getpid()).tmp")
                if (try? data.write(to: temporary)) != nil { _ = rename(temporary.path, url.path) }
            }
        }
    }

    private func load() -> [String: Verdict] {
        guard let data = try? Data(contentsOf: url) else { return [:] }
        return (try? JSONDecoder().decode([String: Verdict].self, from: data)) ?? [:]
    }

    private static func identity(of model: URL) -> (size: UInt64, modified: Double)? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: model.path),
            let size = (attributes[.size] as? NSNumber)?.uint64Value,
            let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970
        else { return nil }
        return (size, modified)
    }
}
