import ArgumentParser
import Foundation
import GGUF
import WorkerBeeWire
import WorkerBeeModels

/// The models folder a `--models-dir` option names, or the WorkerBee home's.
func modelsDirectory(_ path: String?) -> ModelDirectory {
    if let path { return ModelDirectory(url: URL(fileURLWithPath: (path as NSString).expandingTildeInPath, isDirectory: true)) }
    return .standard
}

/// Writes one line to standard error (standard output carries results).
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// `--type f16|f32` on `models import`.
extension SentenceTransformersConverter.OutputType: ExpressibleByArgument {}
