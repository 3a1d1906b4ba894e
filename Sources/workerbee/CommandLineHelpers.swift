import ArgumentParser
import Foundation
import GGUF
import WorkerBeeWire

/// The models folder a `--models-dir` option names, or the WorkerBee home's.
func modelsDirectory(_ path: String?) -> ModelDirectory {
    if let path { return ModelDirectory(url: URL(fileURLWithPath: (path as NSString).expandingTildeInPath, isDirectory: true)) }
    return .standard
}

/// A byte count for people: `512 B`, `43.7 MiB`.
func formatBytes(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}

/// Writes one line to standard error (standard output carries results).
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// `--type f16|f32` on `models import`.
extension SentenceTransformersConverter.OutputType: ExpressibleByArgument {}
