import ArgumentParser
import Foundation
import GGUF
import WorkerBeeWire
import WorkerBeeModels

struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List, pull, import, inspect and remove GGUF models.",
        subcommands: [List.self, Pull.self, Import.self, Info.self, Remove.self, TinyVision.self, TinyEmbedding.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the models in the models folder, the Hugging Face cache and Ollama's store.",
            discussion: "One line per model: the name to pass to --model, its architecture, size, where it is (workerbee, hf-cache, ollama) and what it can do (embed, read images, projector: a vision model's mmproj, not a model of its own; -: neither, `models info NAME` says why).")

        @Option(help: "Models folder (default: $WORKERBEE_HOME/models).")
        var modelsDir: String?

        func run() throws {
            let directory = modelsDirectory(modelsDir)
            var rows: [(name: String, url: URL, source: String)] = directory.modelNames().map { ($0, directory.resolve($0), "workerbee") }
            rows += HubCache.standard().ggufFiles().map { ($0.name, $0.url, "hf-cache") }
            rows += OllamaStore.standard().entries().map { ("ollama:" + $0.name, $0.model, "ollama") }
            if rows.isEmpty {
                printError("no models in \(directory.url.path), the Hugging Face cache or Ollama's store; pull one with `workerbee models pull ORG/NAME:QUANT` or import one with `workerbee models import DIR`")
                return
            }
            for row in rows {
                let size = (try? FileManager.default.attributesOfItem(atPath: row.url.resolvingSymlinksInPath().path)[.size] as? Int) ?? 0
                guard let file = try? GGUFFile(contentsOf: row.url) else {
                    print("\(row.name)\tunreadable\t\(ByteSize.describe(size))\t\(row.source)\t-")
                    continue
                }
                let info = ModelInfo(file: file, url: row.url, reference: row.name)
                print("\(row.name)\t\(info.architecture)\t\(ByteSize.describe(size))\t\(row.source)\t\(info.use)")
            }
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Convert a sentence-transformers model directory to GGUF in the models folder.")

        @Argument(help: "The model directory (config.json, model.safetensors, tokenizer.json, 1_Pooling/).")
        var directory: String

        @Option(help: "Weight type: auto (measure F32, F16 and BF16 on this CPU and keep the fastest whose vectors stay at cosine >= 0.9999 to F32), f16, bf16 or f32.")
        var type: ConversionType = .auto

        @Option(help: "Model name (default: the directory's name).")
        var name: String?

        @Option(help: "Models folder (default: $WORKERBEE_HOME/models).")
        var modelsDir: String?

        func run() throws {
            let outputType = type
            let source = URL(fileURLWithPath: (directory as NSString).expandingTildeInPath).standardizedFileURL
            let modelName = name ?? source.lastPathComponent.lowercased()
            guard !modelName.isEmpty, !modelName.contains("/") else {
                throw ValidationError("--name must be a plain name without slashes")
            }
            let models = modelsDirectory(modelsDir)
            try FileManager.default.createDirectory(at: models.url, withIntermediateDirectories: true)
            let output = models.resolve(modelName)
            let start = Date()
            let (report, chosen) = try outputType.convert(directory: source, to: output, name: modelName)
            for note in report.notes { printError("note: \(note)") }
            printError(String(format: "imported %@ (%@, %d tensors, %@) in %.1f s", modelName, chosen.rawValue.uppercased(),
                              report.tensorCount, ByteSize.describe(report.byteCount), Date().timeIntervalSince(start)))
            print(output.path)
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show what a model is: architecture, sizes, pooling, type, where it is and whether it can embed or read images.")

        @Argument(help: "A model name in the models folder, hf:ORG/NAME:FILE, ollama:NAME[:TAG], or a path to a .gguf file.")
        var model: String

        @Option(help: "Models folder (default: $WORKERBEE_HOME/models).")
        var modelsDir: String?

        @Flag(help: "Print JSON.")
        var json = false

        func run() throws {
            let url = modelsDirectory(modelsDir).resolve(model)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw ValidationError("no model \(model) (looked for \(url.path))")
            }
            let info = ModelInfo(file: try GGUFFile(contentsOf: url), url: url, reference: model)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(info), as: UTF8.self))
            } else {
                print(info.text)
            }
        }
    }
}
