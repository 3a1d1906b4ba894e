import ArgumentParser
import Foundation
import WorkerBee
import WorkerBeeEngine
import WorkerBeeWire

/// The options `embed`, `bench embed` and `serve` share: which model, how many workers and
/// threads, and how much memory each worker may take.
struct EmbeddingOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Model name in the models folder, or a path to a .gguf file.")
    var model: String = ModelDirectory.defaultEmbeddingModel

    @Option(help: "Models folder (default: $WORKERBEE_HOME/models).")
    var modelsDir: String?

    @Option(help: "Worker processes (default: one per core).")
    var workers: Int?

    @Option(help: "CPU threads per worker (default: cores divided by workers).")
    var threads: Int?

    @Option(help: "Most memory each worker may allocate, e.g. 512M or 2G (default: no limit).")
    var workerMemory: ByteCount?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1") }
        if let workerMemory, workerMemory.bytes < 64 << 20 {
            throw ValidationError("--worker-memory must be at least 64M (a worker needs about that much before it loads a model)")
        }
    }
}
