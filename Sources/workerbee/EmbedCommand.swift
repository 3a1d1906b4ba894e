import ArgumentParser
import Foundation
import WorkerBee
import WorkerBeeEngine
import WorkerBeeWire

struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed texts; prints one JSON object per line: {\"index\": i, \"embedding\": [...]}.",
        discussion: """
            Texts come from the arguments, or from --input FILE (or stdin when there are no arguments) \
            as JSON strings, one per line. Texts are sent to a worker process in batches; if the worker \
            dies, it is restarted and the batch is sent again, so every text gets its vector, in order. \
            If the job cannot finish, the lines already written are complete and valid and the exit \
            status is non-zero.
            """
    )

    @Argument(help: "Texts to embed.")
    var texts: [String] = []

    @Option(name: .shortAndLong, help: "File of JSON strings, one per line ('-' for stdin).")
    var input: String?

    @OptionGroup var embedding: EmbeddingOptions

    @Option(help: "How many more times to send a batch whose worker was lost.")
    var retries: Int = 3

    @Flag(help: "Do not L2-normalise the vectors.")
    var noNormalize = false

    @Flag(help: "Run llama.cpp in this process instead of a worker (no crash isolation).")
    var inProcess = false

    @Flag(help: "Show progress on stderr even when it is not a terminal.")
    var progress = false

    func validate() throws {
        if !texts.isEmpty && input != nil { throw ValidationError("give texts as arguments or with --input, not both") }
        if retries < 0 { throw ValidationError("--retries cannot be negative") }
    }

    func run() async throws {
        let inputs = try texts.isEmpty ? TextInput.read(path: input ?? "-") : texts
        let models = modelsDirectory(embedding.modelsDir)
        if inProcess {
            try embedInProcess(inputs, url: models.resolve(embedding.model))
            return
        }
        let worker = WorkerPool(
            configuration: WorkerConfiguration(models: .init(directory: models.url, embedding: embedding.model)),
            processes: embedding.workers, threadsPerProcess: embedding.threads)
        var output = EmbeddingOutput()
        let meter = ProgressMeter(total: inputs.count, unit: "texts", enabled: progress || isatty(2) == 1)
        var truncated = 0
        var start = 0
        do {
            while start < inputs.count {
                let end = min(start + embedding.batchSize, inputs.count)
                let result = try await embedBatch(Array(inputs[start..<end]), worker: worker)
                for (offset, vector) in result.vectors.enumerated() { output.write(index: start + offset, vector: vector) }
                output.flush()
                truncated += result.truncated.filter { $0 }.count
                start = end
                meter.update(done: start)
            }
        } catch {
            output.flush()
            meter.finish()
            await worker.stop()
            throw EmbedFailure(written: start, total: inputs.count, underlying: error)
        }
        meter.finish()
        await worker.stop()
        if truncated > 0 { printError("note: \(truncated) text(s) were longer than the model's context and were truncated") }
    }

    private func embedBatch(_ batch: [String], worker: WorkerPool) async throws -> EmbedResult {
        var attempt = 0
        while true {
            do {
                return try await worker.embedResult(batch, normalize: !noNormalize)
            } catch let error as WorkerError where [.crashed, .protocolViolation, .timedOut].contains(error.code) && attempt < retries {
                attempt += 1
                printError("warning: \(error.message) (\(error.exitStatus.map(String.init(describing:)) ?? "?")); sending the batch again (\(attempt)/\(retries))")
            }
        }
    }

    private func embedInProcess(_ inputs: [String], url: URL) throws {
        let engine = try EmbeddingModel(url: url, options: .init(threads: embedding.threads))
        var output = EmbeddingOutput()
        var start = 0
        while start < inputs.count {
            let end = min(start + embedding.batchSize, inputs.count)
            let result = try engine.embed(Array(inputs[start..<end]), normalize: !noNormalize)
            for (offset, vector) in result.vectors.enumerated() { output.write(index: start + offset, vector: vector) }
            start = end
        }
        output.flush()
    }
}
