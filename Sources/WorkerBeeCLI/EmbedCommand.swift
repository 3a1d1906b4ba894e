import ArgumentParser
import Foundation
import GGUF
import WorkerBee
import WorkerBeeEngine
import WorkerBeeWire

struct EmbedCommand: AsyncParsableCommand {
    /// What `--on-error` does with a text that crashes the worker every time.
    enum PoisonPolicy: String, CaseIterable, ExpressibleByArgument {
        case fail, skip
    }

    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed texts; prints one JSON object per line: {\"index\": i, \"embedding\": [...]}.",
        discussion: """
            Texts come from the arguments, or from --input FILE (or stdin when there are no arguments), \
            one per line: JSON strings, JSON objects whose --text-field holds the text (their other \
            fields are copied to the output line), or plain lines with --lines. Input is read as it \
            comes and output written as it goes, in order, so memory stays flat however long the job. \
            If a worker dies, it is restarted and its request sent once more. If the job cannot \
            finish, the lines already written are complete and the exit status is non-zero; with \
            --output FILE, --resume continues from where it stopped. With --server URL (repeatable), \
            the texts go to running servers (workerbee serve, a load balancer, any OpenAI-style \
            /v1/embeddings) instead of local workers, pieces of --batch-size texts, --in-flight of \
            them at a time; a piece whose server dies or drains goes to another.
            """
    )

    @Argument(help: "Texts to embed.")
    var texts: [String] = []

    @OptionGroup var source: TextInputOptions

    @Option(name: .shortAndLong, help: "Write the vectors to this file instead of stdout.")
    var output: String?

    @Flag(help: "Continue an interrupted job: keep the complete lines of --output and embed only the texts after them.")
    var resume = false

    @OptionGroup var embedding: EmbeddingOptions

    @Option(help: "Texts per worker request, at most 512 (the pool splits larger calls anyway).")
    var batchSize: Int = 256

    @Option(help: "When a text crashes the worker every time: fail (stop, naming the text) or skip (write {\"index\": i, \"error\": ...} for it and go on).")
    var onError: PoisonPolicy = .fail

    @Flag(help: "Do not L2-normalise the vectors.")
    var noNormalize = false

    @Option(help: "Put the model's prompt of this name before every text (e.g. query or passage for e5; `workerbee models info` lists a model's prompts). Without it, the model's default prompt, if it has one.")
    var promptName: String?

    @Flag(help: "Run llama.cpp in this process instead of a worker (no crash isolation).")
    var inProcess = false

    @Flag(help: "Show progress on stderr even when it is not a terminal.")
    var progress = false

    @OptionGroup var target: ServerTargetOptions

    func validate() throws {
        try source.validate(arguments: texts, noun: "texts")
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if resume && output == nil { throw ValidationError("--resume needs --output FILE (the file to continue)") }
        if target.isEnabled && inProcess { throw ValidationError("--server and --in-process exclude each other") }
        if target.isEnabled && embedding.model.hasSuffix(".gguf") {
            throw ValidationError("with --server, --model names one of the server's models, not a file (GET /v1/models lists them)")
        }
    }

    /// The text `--prompt-name` (or the model's default prompt) puts before every input; "" for none.
    private func promptText(models: ModelDirectory) throws -> String {
        let file = try? GGUFFile(contentsOf: models.resolve(embedding.model))
        let prompts = file.map(ModelPrompts.init(gguf:)) ?? ModelPrompts()
        do {
            return try prompts.text(name: promptName, inputType: nil)
        } catch {
            throw ValidationError("--prompt-name: \(error.message.replacingOccurrences(of: "the model", with: embedding.model))")
        }
    }

    func run() async throws {
        var skip = 0
        var out: EmbeddingOutput
        if let output {
            let kept = resume ? try EmbeddingOutput.completeLines(in: output) : nil
            skip = kept?.lines ?? 0
            out = try EmbeddingOutput(path: output, keeping: kept?.bytes)
            if skip > 0 { printError("resuming \(output): \(skip) texts already done") }
        } else {
            out = EmbeddingOutput()
        }
        let items = source.items(arguments: texts)
        let meter = ProgressMeter(total: texts.isEmpty ? nil : texts.count, unit: "texts", enabled: progress || isatty(2) == 1)
        var written = skip
        var truncated = 0
        var failed = 0
        let models = modelsDirectory(embedding.modelsDir)
        // A server applies the model's prompts itself (prompt_name).
        let prompt = target.isEnabled ? "" : try promptText(models: models)
        do {
            if target.isEnabled {
                let fleet = target.makeServers(model: embedding.model, normalize: !noNormalize, promptName: promptName)
                do {
                    try await embedOnServers(items, skip: skip, servers: fleet, output: &out, written: &written, failed: &failed, meter: meter)
                } catch {
                    await fleet.shutdown()
                    throw error
                }
                await fleet.shutdown()
                if fleet.resentCount > 0 { printError("note: \(fleet.resentCount) time(s) a piece was sent again to another server after one failed") }
            } else if inProcess {
                try await embedInProcess(items, skip: skip, url: models.resolve(embedding.model), prompt: prompt, output: &out, written: &written)
            } else {
                var configuration = WorkerConfiguration(
                    models: .init(directory: models.url, embedding: ModelReference(embedding.model)), engine: embedding.engine)
                configuration.requestLimit.texts = min(batchSize, configuration.requestLimit.texts)
                let pool = WorkerPool(configuration: configuration, processes: embedding.workers, threadsPerProcess: embedding.threads)
                defer { Task { await pool.stop() } }
                let pending = PendingFields()
                let texts = items.dropFirst(skip).map { item -> String in
                    pending.push(item.fields)
                    return prompt + item.text
                }
                do {
                    for try await result in pool.embeddings(of: texts, options: EmbedOptions(normalize: !noNormalize, poisonTexts: onError == .skip ? .report : .fail)) {
                        if let error = result.error {
                            out.write(index: skip + result.index, fields: pending.pop(), error: error.summary)
                            failed += 1
                        } else {
                            out.write(index: skip + result.index, fields: pending.pop(), vector: result.vector)
                        }
                        written += 1
                        if result.truncated { truncated += 1 }
                        meter.update(done: written)
                    }
                } catch {
                    await pool.stop()
                    throw error
                }
                await pool.stop()
            }
        } catch {
            out.close()
            meter.finish()
            throw EmbedFailure(written: written, total: texts.isEmpty ? nil : texts.count, underlying: error)
        }
        out.close()
        meter.finish()
        if failed > 0 { printError("note: \(failed) text(s) crash the worker every time and have an \"error\" line instead of a vector") }
        if truncated > 0 { printError("note: \(truncated) text(s) were longer than the model's context and were truncated") }
        let repaired = items.repairedCount
        if repaired > 0 { printError("note: \(repaired) line(s) were not valid UTF-8; their bad bytes were replaced by U+FFFD") }
    }

    private func embedInProcess(_ items: InputItems, skip: Int, url: URL, prompt: String, output: inout EmbeddingOutput, written: inout Int) async throws {
        let engine = try EmbeddingModel(url: url, options: .init(threads: embedding.threads))
        var batch: [TextInput.Item] = []
        func flush(_ batch: [TextInput.Item], output: inout EmbeddingOutput, written: inout Int) throws {
            let result = try engine.embed(batch.map { prompt + $0.text }, normalize: !noNormalize)
            for (offset, item) in batch.enumerated() {
                output.write(index: written, fields: item.fields, vector: result.vector(at: offset))
                written += 1
            }
        }
        for try await item in items.dropFirst(skip) {
            batch.append(item)
            if batch.count == batchSize {
                try flush(batch, output: &output, written: &written)
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { try flush(batch, output: &output, written: &written) }
    }
}
