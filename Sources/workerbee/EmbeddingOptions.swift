import ArgumentParser
import Foundation
import WorkerBee
import WorkerBeeEngine
import WorkerBeeWire

/// The options `embed` and `bench embed` share: which model, and how many workers and threads.
struct EmbeddingOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Model name in the models folder, or a path to a .gguf file.")
    var model: String = ModelDirectory.defaultEmbeddingModel

    @Option(help: "Models folder (default: $WORKERBEE_HOME/models).")
    var modelsDir: String?

    @Option(help: "Worker processes (default: one per core).")
    var workers: Int?

    @Option(help: "CPU threads per worker, or for --in-process (default: cores divided by workers).")
    var threads: Int?

    @Option(help: "Texts per worker request, at most 512 (the pool splits larger calls anyway).")
    var batchSize: Int = 256

    @Option(help: "Most memory each worker may allocate, e.g. 512M or 2G (default: no limit).")
    var workerMemory: ByteCount?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if let workerMemory, workerMemory.bytes < 64 << 20 {
            throw ValidationError("--worker-memory must be at least 64M (a worker needs about that much before it loads a model)")
        }
    }
}
