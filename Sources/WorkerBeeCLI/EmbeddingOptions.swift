import ArgumentParser
import Foundation
import WorkerBee
import WorkerBeeEngine
import WorkerBeeWire
import WorkerBeeModels

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

    @Flag(inversion: .prefixedNo, help: ArgumentHelp(
        "Give a text the same vector bit for bit whatever it is batched with (default: on when free, as with the llama.cpp the setup builds).",
        discussion: "With another llama.cpp, --batch-invariant costs throughput on short texts; see docs/PERFORMANCE.md."))
    var batchInvariant: Bool?

    /// The engine settings these options ask for.
    var engine: WorkerConfiguration.Engine {
        WorkerConfiguration.Engine(memoryLimit: workerMemory?.bytes, batchInvariant: batchInvariant)
    }

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1") }
        if let workerMemory, workerMemory.bytes < 64 << 20 {
            throw ValidationError("--worker-memory must be at least 64M (a worker needs about that much before it loads a model)")
        }
    }
}
