import Foundation
import GGUF
import WorkerBeeWire
import WorkerBeeModels

/// The facts `workerbee models info` shows about a GGUF file.
struct ModelInfo: Encodable {
    let path: String
    let name: String?
    let architecture: String
    let contextLength: Int?
    let embeddingLength: Int?
    let blockCount: Int?
    let pooling: String?
    /// The prompts the model carries (from its sentence-transformers configuration).
    let prompts: ModelPrompts
    let fileType: String
    let tensorCount: Int
    let vocabularySize: Int?
    let projectorType: String?
    let projector: String?
    let sizeBytes: Int
    /// Where the file is: the models folder, the Hugging Face cache, Ollama's store, or a path.
    let source: String
    /// What WorkerBee can do with it: `embed`, `read images`, or `neither: <why>`.
    let capability: String
    /// The same in a word or two, for `models list`: `embed`, `read images`, `projector` or `-`.
    let use: String

    init(file: GGUFFile, url: URL, reference: String) {
        let arch = file.architecture ?? "unknown"
        path = url.path
        name = file["general.name"]?.stringValue
        architecture = arch
        contextLength = file["\(arch).context_length"]?.intValue
        embeddingLength = file["\(arch).embedding_length"]?.intValue
        blockCount = file["\(arch).block_count"]?.intValue
        pooling = file["\(arch).pooling_type"]?.intValue.map { ["none", "mean", "cls", "last", "rank"].indices.contains($0) ? ["none", "mean", "cls", "last", "rank"][$0] : "type \($0)" }
        prompts = ModelPrompts(gguf: file)
        fileType = file.fileTypeName
        tensorCount = file.tensors.count
        vocabularySize = file["tokenizer.ggml.tokens"]?.arrayValue?.count
        if arch == "clip" {
            projectorType = file["clip.projector_type"]?.stringValue ?? file["clip.vision.projector_type"]?.stringValue
            projector = nil
        } else if file["tokenizer.chat_template"] != nil,
            let found = try? ProjectorLocator.projector(for: url, explicit: ModelDirectory.standard.storedProjector(for: reference)?.path),
            let projectorFile = try? GGUFFile(contentsOf: found)
        {
            projectorType = projectorFile["clip.projector_type"]?.stringValue
            projector = found.path
        } else {
            projectorType = nil
            projector = nil
        }
        sizeBytes = file.data.count
        let isLink = (try? FileManager.default.destinationOfSymbolicLink(atPath: url.path)) != nil
        source = reference.hasPrefix("ollama:") ? "Ollama's store"
            : reference.hasPrefix("hf:") ? "the Hugging Face cache"
            : ModelDirectory.isPath(reference) ? "a file"
            : isLink ? "the models folder (a link into the Hugging Face cache, from models pull)" : "the models folder"
        if arch == "clip" {
            capability = "neither: this is a vision projector (mmproj); give it with --mmproj next to its text model"
            use = "projector"
        } else if file.isReranker {
            capability = "rerank (score query-document pairs)"
            use = "rerank"
        } else if file.canEmbed {
            capability = "embed"
            use = capability
        } else if projector != nil {
            capability = "read images"
            use = capability
        } else if file["tokenizer.chat_template"] != nil {
            capability = "neither: a \(arch) text-generation model with no vision projector (mmproj) beside it; WorkerBee embeds with embedding models and reads pages with vision models"
            use = "-"
        } else {
            capability = "neither: the \(arch) architecture is neither an embedding model nor a vision model"
            use = "-"
        }
    }

    var text: String {
        var lines = ["path: \(path)", "source: \(source)", "can: \(capability)"]
        if let name { lines.append("name: \(name)") }
        lines.append("architecture: \(architecture)")
        if let contextLength { lines.append("context length: \(contextLength)") }
        if let embeddingLength { lines.append("embedding length: \(embeddingLength)") }
        if let blockCount { lines.append("layers: \(blockCount)") }
        if let pooling { lines.append("pooling: \(pooling)") }
        for name in prompts.prompts.keys.sorted() {
            lines.append("prompt \(name): \(prompts.prompts[name]!.debugDescription)\(name == prompts.defaultName ? " (default)" : "")")
        }
        if let projector { lines.append("projector: \(projector)") }
        if let projectorType { lines.append("projector type: \(projectorType)") }
        lines.append("file type: \(fileType)")
        if let vocabularySize { lines.append("vocabulary: \(vocabularySize) tokens") }
        lines.append("tensors: \(tensorCount)")
        lines.append("size: \(ByteSize.describe(sizeBytes)) (\(sizeBytes) bytes)")
        return lines.joined(separator: "\n")
    }
}
