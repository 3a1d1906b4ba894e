import Foundation
import GGUF
import Synchronization
import WorkerBeeWire
import WorkerBeeModels

/// The default model (all-MiniLM-L6-v2) converted to each weight type that `--type auto` can
/// choose, so that tests cover F32, F16 and BF16 whichever one the setup installed on this CPU.
///
/// Each type is converted once per test process from the sentence-transformers folder the setup
/// unpacked, into a folder of this process's own; folders left by test processes that are gone
/// are removed on first use.
public enum DefaultModelWeights {
    /// The sentence-transformers folder the setup unpacked (`$WORKERBEE_HOME/sources/all-minilm-l6-v2`).
    public static var source: URL { ModelDirectory.home.appendingPathComponent("sources/\(ModelDirectory.defaultEmbeddingModel)") }

    private static let converted = Mutex<[SentenceTransformersConverter.OutputType: URL]>([:])
    private static let folderPrefix = "workerbee-weights-"

    /// The default model in `type`, converted on first use.
    /// - Throws: ``GGUFError`` when the source folder is missing or cannot be converted.
    public static func url(_ type: SentenceTransformersConverter.OutputType) throws -> URL {
        try converted.withLock { cache in
            if let url = cache[type] { return url }
            if cache.isEmpty { removeFoldersOfEndedProcesses() }
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("\(folderPrefix)\(getpid())")
            try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let url = folder.appendingPathComponent("minilm-\(type.rawValue).gguf")
            try SentenceTransformersConverter.convert(directory: source, to: url, type: type, name: "minilm-\(type.rawValue)")
            cache[type] = url
            return url
        }
    }

    private static func removeFoldersOfEndedProcesses() {
        let temporary = FileManager.default.temporaryDirectory
        for name in (try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? [] where name.hasPrefix(folderPrefix) {
            guard let pid = Int32(name.dropFirst(folderPrefix.count)), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH {
                try? FileManager.default.removeItem(at: temporary.appendingPathComponent(name))
            }
        }
    }
}
