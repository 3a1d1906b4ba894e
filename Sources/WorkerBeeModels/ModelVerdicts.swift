import Foundation

/// Models known to crash llama.cpp, remembered per file so that the next attempt fails in
/// milliseconds without spawning a worker.
///
/// A verdict is kept in `model-verdicts.json` in the worker's log folder (the WorkerBee home by
/// default), keyed by the file's path and valid only while the file keeps its size and
/// modification time: replacing the file clears it.
///
/// Every process with the same home shares the file. A record is a read-modify-write under an
/// exclusive `flock` on `model-verdicts.json.lock`, held from the load to the atomic rename, so
/// records made at once by several processes (or threads) are all kept. Reading needs no lock:
/// the file is only ever replaced whole.
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

    /// The lock file that guards changes to ``url``: `model-verdicts.json.lock` beside it.
    private var lockURL: URL { url.appendingPathExtension("lock") }

    /// Verdicts stored in `directory/model-verdicts.json`.
    package init(directory: URL) {
        url = directory.appendingPathComponent("model-verdicts.json")
    }

    /// The verdict on `model`, if one was recorded for the file as it is now.
    package func verdict(for model: URL) -> Verdict? {
        guard let identity = Self.identity(of: model) else { return nil }
        guard let verdict = load()[model.standardizedFileURL.path], verdict.size == identity.size, verdict.modified == identity.modified else {
            return nil
        }
        return verdict
    }

    /// Records that `model`, as it is now, crashes llama.cpp. Best effort: a folder that cannot be
    /// written keeps no verdict.
    ///
    /// Synchronous, and it may wait in a blocking `flock` for another process's record. That wait
    /// is bounded by the other record's load, encode and rename of a small file (no record holds the
    /// lock across anything else), and a record happens only after a worker crashed loading a
    /// model, so the caller's thread is held for milliseconds at most, rarely.
    package func record(_ model: URL, reason: String) {
        guard let identity = Self.identity(of: model) else { return }
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        // A descriptor of its own per record: `flock` excludes other open file descriptions, so
        // this serialises threads of this process as well as other processes.
        let lock = open(lockURL.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0 else { return }
        defer { close(lock) }
        while flock(lock, LOCK_EX) != 0 {
            guard errno == EINTR else { return }
        }
        defer { flock(lock, LOCK_UN) }
        var verdicts = load()
        verdicts[model.standardizedFileURL.path] = Verdict(size: identity.size, modified: identity.modified, reason: reason)
        guard let data = try? JSONEncoder().encode(verdicts) else { return }
        let temporary = url.appendingPathExtension("\(getpid()).tmp")
        if (try? data.write(to: temporary)) != nil { _ = rename(temporary.path, url.path) }
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
