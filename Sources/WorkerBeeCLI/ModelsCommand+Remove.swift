import ArgumentParser
import Foundation
import WorkerBeeWire
import WorkerBeeModels

extension ModelsCommand {
    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm",
            abstract: "Remove a model from WorkerBee's models folder.",
            discussion: """
                An imported or converted model's file is deleted. A pulled model is a link into the \
                Hugging Face cache: the link (and its projector link) goes, the cached file stays, since \
                other tools share it. Models in Ollama's store or the Hugging Face cache (ollama:..., \
                hf:...) are never touched.
                """)

        @Argument(help: "Model names in the models folder.")
        var names: [String]

        @Option(help: "Models folder (default: $WORKERBEE_HOME/models).")
        var modelsDir: String?

        func run() throws {
            let models = modelsDirectory(modelsDir)
            let manager = FileManager.default
            var missing: [String] = []
            for name in names {
                if ModelDirectory.isStoreName(name) {
                    throw ValidationError("\(name) belongs to another tool's store; WorkerBee never modifies it (remove it with that tool)")
                }
                guard !ModelDirectory.isPath(name) else { throw ValidationError("give a model name, not a path: \(name)") }
                let file = models.resolve(name)
                let isLink = (try? manager.destinationOfSymbolicLink(atPath: file.path)) != nil
                guard isLink || manager.fileExists(atPath: file.path) else {
                    missing.append(name)
                    continue
                }
                let projector = models.url.appendingPathComponent(name + ".mmproj.gguf")
                if isLink {
                    let target = file.resolvingSymlinksInPath()
                    try manager.removeItem(at: file)
                    if (try? manager.destinationOfSymbolicLink(atPath: projector.path)) != nil { try manager.removeItem(at: projector) }
                    printError("removed \(name) (the Hugging Face cache keeps \(target.path))")
                } else {
                    let size = (try? manager.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0
                    try manager.removeItem(at: file)
                    printError("removed \(name) (\(ByteSize.describe(size)) freed)")
                }
            }
            if !missing.isEmpty {
                throw ValidationError("no model \(missing.joined(separator: ", ")) in \(models.url.path); `workerbee models list` shows what there is")
            }
        }
    }
}
