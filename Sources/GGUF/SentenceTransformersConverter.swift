import Foundation

/// Converts a sentence-transformers model directory (config.json, model.safetensors,
/// tokenizer.json, modules.json, 1_Pooling/config.json) into a GGUF file that llama.cpp's
/// `bert` architecture loads; or a cross-encoder (a Hugging Face `BertForSequenceClassification`
/// folder, as sentence-transformers' `CrossEncoder` saves it) into a reranker.
///
/// A cross-encoder keeps its whole head: BERT's pooler (`pooler.dense`, then tanh) as llama.cpp's
/// `cls` tensors and the classifier as `cls.output`, with rank pooling and the classifier's
/// labels, so that llama.cpp's rank pooling computes the original model's logits. (llama.cpp's
/// own converter drops the pooler, so its scores are not the model's.)
///
/// The layout follows llama.cpp's own converter (`conversion/bert.py`): llama.cpp tensor names,
/// non-causal attention, the pooling type from the Pooling module, the WordPiece vocabulary in
/// llama.cpp's "phantom space" form, token types and special tokens. Position and token-type
/// embeddings and all one-dimensional tensors stay F32 whatever the output type, since ggml adds
/// them to F32 activations and aborts on a mismatch.
public enum SentenceTransformersConverter {
    /// The element type of the converted weight matrices.
    public enum OutputType: String, Sendable, CaseIterable {
        case f32, f16, bf16

        var fileType: GGUFFileType {
            switch self {
            case .f32: .allF32
            case .f16: .mostlyF16
            case .bf16: .mostlyBF16
            }
        }
    }

    /// What a conversion produced.
    public struct Report: Sendable {
        /// The GGUF file written.
        public let output: URL
        /// The architecture written (`bert`).
        public let architecture: String
        /// llama.cpp pooling type written (1 mean, 2 cls, 3 last, 4 rank for a cross-encoder).
        public let poolingType: Int
        /// Number of tensors written.
        public let tensorCount: Int
        /// Size of the file in bytes.
        public let byteCount: Int
        /// Things a person should know (defaults that were assumed, tensors that were skipped).
        public let notes: [String]

        /// The same report for the file after it was moved to `url`.
        public func moved(to url: URL) -> Report {
            Report(output: url, architecture: architecture, poolingType: poolingType, tensorCount: tensorCount, byteCount: byteCount, notes: notes)
        }
    }

    /// Architectures (config.json `model_type`) this converter supports.
    public static let supportedModelTypes = ["bert"]

    /// Converts `directory` to a GGUF file at `output`.
    /// - Parameters:
    ///   - directory: a sentence-transformers (or Hugging Face BERT) model directory.
    ///   - output: where to write the GGUF file; written atomically.
    ///   - type: F16 (default) or F32 weights.
    ///   - name: the model name stored as `general.name` (default: the directory name).
    /// - Throws: ``GGUFError``: `.unsupportedArchitecture` for anything but BERT, `.invalidModel`
    ///   for missing or inconsistent files, `.io` for read/write failures.
    @discardableResult
    public static func convert(
        directory: URL, to output: URL, type: OutputType = .f16, name: String? = nil
    ) throws(GGUFError) -> Report {
        var notes: [String] = []
        let config = try readJSON(directory.appendingPathComponent("config.json"))
        let architectures = config["architectures"] as? [String] ?? []
        // Some saved configs lack model_type; their architecture names it (BertModel, BertFor...).
        let modelType = config["model_type"] as? String ?? (architectures.contains { $0.hasPrefix("Bert") } ? "bert" : "unknown")
        guard supportedModelTypes.contains(modelType) else {
            let named = architectures.isEmpty ? modelType : architectures.joined(separator: ", ")
            throw GGUFError(.unsupportedArchitecture, "cannot convert a \(modelType) model (\(named)); supported: BERT (config.json model_type \"bert\", e.g. all-MiniLM-L6-v2, bge-small, and BERT cross-encoders such as ms-marco-MiniLM-L6-v2)")
        }
        let hp = try BERTHyperParameters(config: config)
        let labels = classifierLabels(config: config)
        let pooling = labels == nil ? try poolingType(directory: directory, notes: &notes) : rankPooling
        let vocabulary = try WordPieceVocabulary(directory: directory, vocabularySize: hp.vocabularySize)

        let weights = try SafetensorsFile(contentsOf: directory.appendingPathComponent("model.safetensors"))
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("bert"))
        writer.set("general.type", .string("model"))
        writer.set("general.name", .string(name ?? directory.lastPathComponent))
        writer.set("general.file_type", .uint32(UInt32(type.fileType.rawValue)))
        writer.set("general.quantization_version", .uint32(2))
        writer.set("bert.context_length", .uint32(UInt32(hp.contextLength)))
        writer.set("bert.embedding_length", .uint32(UInt32(hp.hiddenSize)))
        writer.set("bert.feed_forward_length", .uint32(UInt32(hp.intermediateSize)))
        writer.set("bert.block_count", .uint32(UInt32(hp.layerCount)))
        writer.set("bert.attention.head_count", .uint32(UInt32(hp.headCount)))
        writer.set("bert.attention.layer_norm_epsilon", .float32(Float(hp.layerNormEpsilon)))
        writer.set("bert.attention.causal", .bool(false))
        writer.set("bert.pooling_type", .uint32(UInt32(pooling)))
        writer.set("tokenizer.ggml.token_type_count", .uint32(UInt32(hp.tokenTypeCount)))
        if let labels {
            writer.set("bert.classifier.output_labels", .array(elementType: .string, elements: labels.map { .string($0) }))
            notes.append("cross-encoder: rank pooling, BERT pooler and classifier kept (\(labels.count) label\(labels.count == 1 ? "" : "s"): \(labels.joined(separator: ", ")))")
        }
        if let prompts = try ModelPrompts.read(directory: directory) {
            prompts.write(into: &writer)
            notes.append("prompts kept: \(prompts.prompts.keys.sorted().joined(separator: ", "))\(prompts.defaultName.map { " (default \($0))" } ?? "")")
        }
        vocabulary.write(to: &writer)

        var written = Set<String>()
        for tensor in weights.tensors {
            guard let target = try ggufName(for: tensor.name, layerCount: hp.layerCount, keepsHead: labels != nil) else { continue }
            guard written.insert(target).inserted else {
                throw GGUFError(.invalidModel, "two tensors map to \(target) (second: \(tensor.name))")
            }
            let values = try weights.floats(of: tensor)
            let keepF32 = type == .f32 || tensor.shape.count < 2
                || target == "position_embd.weight" || target == "token_types.weight" || target.hasPrefix("cls.")
            let dimensions = Array(tensor.shape.reversed())
            if keepF32 {
                try writer.addTensor(name: target, dimensions: dimensions, type: .f32, data: Float16Conversion.floatData(values))
            } else if type == .bf16 {
                try writer.addTensor(name: target, dimensions: dimensions, type: .bf16, data: Float16Conversion.bfloat16Data(values))
            } else {
                try writer.addTensor(name: target, dimensions: dimensions, type: .f16, data: Float16Conversion.halfData(values))
            }
        }
        for required in requiredTensors(layerCount: hp.layerCount, keepsHead: labels != nil) where !written.contains(required) {
            throw GGUFError(.invalidModel, "model.safetensors has no tensor for \(required)")
        }
        try writer.write(to: output)
        let size = (try? FileManager.default.attributesOfItem(atPath: output.path)[.size] as? Int) ?? 0
        return Report(output: output, architecture: "bert", poolingType: pooling, tensorCount: written.count, byteCount: size, notes: notes)
    }

    /// llama.cpp's rank pooling (`LLAMA_POOLING_TYPE_RANK`).
    static let rankPooling = 4

    /// The classifier's labels in order when config.json describes a sequence classifier (a
    /// cross-encoder), else nil.
    static func classifierLabels(config: [String: Any]) -> [String]? {
        let architectures = config["architectures"] as? [String] ?? []
        guard architectures.contains(where: { $0.hasSuffix("ForSequenceClassification") }) else { return nil }
        if let names = config["id2label"] as? [String: Any], !names.isEmpty {
            return names.compactMap { key, value in Int(key).map { ($0, "\(value)") } }.sorted { $0.0 < $1.0 }.map(\.1)
        }
        let count = (config["num_labels"] as? NSNumber)?.intValue ?? 1
        return (0..<max(1, count)).map { "LABEL_\($0)" }
    }

    /// Maps a Hugging Face BERT tensor name to llama.cpp's, or nil for a tensor llama.cpp does
    /// not use (the masked-LM head, position ids, and the pooler of a model that is not a
    /// cross-encoder).
    /// - Parameter keepsHead: a cross-encoder: the pooler becomes `cls` and the classifier
    ///   `cls.output`.
    /// - Throws: ``GGUFError`` with `.invalidModel` for a tensor this converter does not know.
    static func ggufName(for hfName: String, layerCount: Int, keepsHead: Bool = false) throws(GGUFError) -> String? {
        var name = hfName
        if name.hasPrefix("bert.") { name.removeFirst(5) }
        if name.hasSuffix(".gamma") { name = String(name.dropLast(6)) + ".weight" }
        if name.hasSuffix(".beta") { name = String(name.dropLast(5)) + ".bias" }
        if keepsHead {
            let head = ["pooler.dense.weight": "cls.weight", "pooler.dense.bias": "cls.bias",
                        "classifier.weight": "cls.output.weight", "classifier.bias": "cls.output.bias"]
            if let mapped = head[name] { return mapped }
        }
        if name == "embeddings.position_ids" || name.hasPrefix("pooler.") || name.hasPrefix("cls.") {
            return nil
        }
        let fixed = [
            "embeddings.word_embeddings.weight": "token_embd.weight",
            "embeddings.position_embeddings.weight": "position_embd.weight",
            "embeddings.token_type_embeddings.weight": "token_types.weight",
            "embeddings.LayerNorm.weight": "token_embd_norm.weight",
            "embeddings.LayerNorm.bias": "token_embd_norm.bias",
        ]
        if let mapped = fixed[name] { return mapped }
        let prefix = "encoder.layer."
        if name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            if let dot = rest.firstIndex(of: "."), let layer = Int(rest[..<dot]), layer < layerCount {
                let part = String(rest[rest.index(after: dot)...])
                let parts = [
                    "attention.self.query": "attn_q", "attention.self.key": "attn_k",
                    "attention.self.value": "attn_v", "attention.output.dense": "attn_output",
                    "attention.output.LayerNorm": "attn_output_norm", "intermediate.dense": "ffn_up",
                    "output.dense": "ffn_down", "output.LayerNorm": "layer_output_norm",
                ]
                for suffix in ["weight", "bias"] where part.hasSuffix("." + suffix) {
                    if let mapped = parts[String(part.dropLast(suffix.count + 1))] {
                        return "blk.\(layer).\(mapped).\(suffix)"
                    }
                }
            }
        }
        throw GGUFError(.invalidModel, "unexpected tensor \(hfName) in model.safetensors; this converter knows plain BERT encoders")
    }

    static func requiredTensors(layerCount: Int, keepsHead: Bool = false) -> [String] {
        var names = ["token_embd.weight", "position_embd.weight", "token_embd_norm.weight", "token_embd_norm.bias"]
        if keepsHead { names += ["cls.weight", "cls.bias", "cls.output.weight"] }
        for layer in 0..<layerCount {
            for part in ["attn_q", "attn_k", "attn_v", "attn_output", "attn_output_norm", "ffn_up", "ffn_down", "layer_output_norm"] {
                names.append("blk.\(layer).\(part).weight")
            }
        }
        return names
    }

    /// The llama.cpp pooling type named by the sentence-transformers Pooling module.
    static func poolingType(directory: URL, notes: inout [String]) throws(GGUFError) -> Int {
        let modulesURL = directory.appendingPathComponent("modules.json")
        var poolingPath: String?
        if FileManager.default.fileExists(atPath: modulesURL.path) {
            let modules = try readJSONArray(modulesURL)
            poolingPath = modules.first { ($0["type"] as? String)?.hasSuffix("Pooling") == true }?["path"] as? String
        } else if FileManager.default.fileExists(atPath: directory.appendingPathComponent("1_Pooling/config.json").path) {
            poolingPath = "1_Pooling"
        }
        guard let poolingPath else {
            notes.append("no sentence-transformers Pooling module found; assuming mean pooling")
            return 1
        }
        let pooling = try readJSON(directory.appendingPathComponent(poolingPath).appendingPathComponent("config.json"))
        if pooling["pooling_mode_mean_tokens"] as? Bool == true { return 1 }
        if pooling["pooling_mode_cls_token"] as? Bool == true { return 2 }
        if pooling["pooling_mode_lasttoken"] as? Bool == true { return 3 }
        switch pooling["pooling_mode"] as? String {
        case "mean": return 1
        case "cls": return 2
        case "lasttoken": return 3
        default:
            throw GGUFError(.invalidModel, "\(poolingPath)/config.json asks for a pooling mode llama.cpp does not have; supported: mean, cls, last token")
        }
    }

    static func readJSON(_ url: URL) throws(GGUFError) -> [String: Any] {
        guard let object = try readJSONValue(url) as? [String: Any] else {
            throw GGUFError(.invalidModel, "\(url.lastPathComponent) is not a JSON object")
        }
        return object
    }

    static func readJSONArray(_ url: URL) throws(GGUFError) -> [[String: Any]] {
        guard let array = try readJSONValue(url) as? [[String: Any]] else {
            throw GGUFError(.invalidModel, "\(url.lastPathComponent) is not a JSON array of objects")
        }
        return array
    }

    private static func readJSONValue(_ url: URL) throws(GGUFError) -> Any {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw GGUFError(.invalidModel, "missing \(url.lastPathComponent) in \(url.deletingLastPathComponent().path)")
        }
        do {
            return try JSONSerialization.jsonObject(with: data)
        } catch {
            throw GGUFError(.invalidModel, "\(url.lastPathComponent) is not valid JSON: \(error.localizedDescription)")
        }
    }
}
