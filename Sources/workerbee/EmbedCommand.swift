import ArgumentParser
import Foundation
import WorkerBeeEngine
import WorkerBeeWire

struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed texts; prints one JSON object per line: {\"index\": i, \"embedding\": [...]}.",
        discussion: """
            Texts come from the arguments, or from --input FILE (or stdin when there are no arguments) \
            as JSON strings, one per line.
            """
    )

    @Argument(help: "Texts to embed.")
    var texts: [String] = []

    @Option(name: .shortAndLong, help: "File of JSON strings, one per line ('-' for stdin).")
    var input: String?

    @Option(name: .shortAndLong, help: "Model name in the models folder, or a path to a .gguf file.")
    var model: String = ModelDirectory.defaultEmbeddingModel

    @Option(help: "Models folder (default: $WORKERBEE_HOME/models).")
    var modelsDir: String?

    @Option(help: "CPU threads (default: all cores).")
    var threads: Int?

    @Flag(help: "Do not L2-normalise the vectors.")
    var noNormalize = false

    func validate() throws {
        if !texts.isEmpty && input != nil { throw ValidationError("give texts as arguments or with --input, not both") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() async throws {
        let inputs = try texts.isEmpty ? TextInput.read(path: input ?? "-") : texts
        let url = modelsDirectory(modelsDir).resolve(model)
        let engine = try EmbeddingModel(url: url, options: .init(threads: threads))
        let result = try engine.embed(inputs, normalize: !noNormalize)
        var output = EmbeddingOutput()
        for (index, vector) in result.vectors.enumerated() { output.write(index: index, vector: vector) }
        output.flush()
        let cut = result.truncated.filter { $0 }.count
        if cut > 0 { printError("note: \(cut) text(s) were longer than \(engine.maxTokensPerText) tokens and were truncated") }
    }
}
