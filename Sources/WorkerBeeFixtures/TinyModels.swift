import BinaryCoding
import Foundation
import GGUF

/// Small models with seeded random weights, generated on the spot, for tests and demos that
/// need a real model file without downloading one.
public enum TinyModels {
    /// A deterministic pseudo-random generator (SplitMix64).
    public struct SeededGenerator: RandomNumberGenerator, Sendable {
        private var state: UInt64
        /// Creates a generator from a seed.
        public init(seed: UInt64) { state = seed }
        public mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Writes a sentence-transformers BERT directory (config.json, tokenizer.json, modules.json,
    /// 1_Pooling/config.json, model.safetensors) with a 2-layer, 32-wide model and a tiny
    /// WordPiece vocabulary.
    /// - Parameters:
    ///   - directory: created if missing.
    ///   - pooling: `mean` or `cls`.
    ///   - modelType: config.json's `model_type` (change it to test unsupported architectures).
    ///   - seed: the weight seed.
    public static func writeSentenceTransformersBERT(
        to directory: URL, pooling: String = "mean", modelType: String = "bert", seed: UInt64 = 42
    ) throws {
        try writeBERT(to: directory, pooling: pooling, modelType: modelType, seed: seed, labels: nil)
    }

    /// Writes a Hugging Face `BertForSequenceClassification` directory (a cross-encoder, as
    /// sentence-transformers' `CrossEncoder` saves it: config.json, tokenizer.json,
    /// model.safetensors with `bert.`-prefixed names, the pooler and a classifier) with the same
    /// small shape as ``writeSentenceTransformersBERT(to:pooling:modelType:seed:)``, and token-type
    /// embeddings far enough apart that a model run with the wrong segment types gives other
    /// logits.
    /// - Parameters:
    ///   - directory: created if missing.
    ///   - labels: the classifier's outputs (1 for a relevance score).
    ///   - seed: the weight seed.
    public static func writeCrossEncoderBERT(to directory: URL, labels: Int = 1, seed: UInt64 = 7) throws {
        try writeBERT(to: directory, pooling: "cls", modelType: "bert", seed: seed, labels: max(1, labels))
    }

    private static func writeBERT(to directory: URL, pooling: String, modelType: String, seed: UInt64, labels: Int?) throws {
        let hidden = 32, layers = 2, heads = 4, intermediate = 64, positions = 64
        let vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "worker", "bee", "##s", "##ing", "the",
                          "a", "text", "vector", ".", ",", "!", "?", "embed"]
        let fm = FileManager.default
        try fm.createDirectory(at: labels == nil ? directory.appendingPathComponent("1_Pooling") : directory, withIntermediateDirectories: true)
        func json(_ object: Any, _ name: String) throws {
            try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: directory.appendingPathComponent(name))
        }
        var config: [String: Any] = [
            "architectures": ["BertModel"], "model_type": modelType, "hidden_size": hidden, "num_hidden_layers": layers,
            "num_attention_heads": heads, "intermediate_size": intermediate, "max_position_embeddings": positions,
            "vocab_size": vocabulary.count, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu",
            "position_embedding_type": "absolute",
        ]
        if let labels {
            config["architectures"] = ["BertForSequenceClassification"]
            config["id2label"] = Dictionary(uniqueKeysWithValues: (0..<labels).map { ("\($0)", "LABEL_\($0)") })
            config["label2id"] = Dictionary(uniqueKeysWithValues: (0..<labels).map { ("LABEL_\($0)", $0) })
        }
        try json(config, "config.json")
        try json([
            "model": ["type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                      "vocab": Dictionary(uniqueKeysWithValues: vocabulary.enumerated().map { ($1, $0) })],
            "added_tokens": (0..<5).map { ["id": $0, "content": vocabulary[$0], "special": true] },
        ], "tokenizer.json")
        try json(["cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]", "mask_token": "[MASK]"],
                 "special_tokens_map.json")
        if labels == nil {
            try json([["idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"],
                      ["idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"]], "modules.json")
            try json(["word_embedding_dimension": hidden, "pooling_mode_mean_tokens": pooling == "mean",
                      "pooling_mode_cls_token": pooling == "cls"], "1_Pooling/config.json")
        }

        var generator = SeededGenerator(seed: seed)
        var tensors: [(String, [Int], [Float])] = []
        func random(_ shape: [Int], scale: Float = 0.2) -> [Float] {
            (0..<shape.reduce(1, *)).map { _ in Float.random(in: -scale...scale, using: &generator) }
        }
        func norm(_ name: String) {
            tensors.append((name + ".weight", [hidden], (0..<hidden).map { _ in 1 + Float.random(in: -0.1...0.1, using: &generator) }))
            tensors.append((name + ".bias", [hidden], random([hidden], scale: 0.05)))
        }
        tensors.append(("embeddings.word_embeddings.weight", [vocabulary.count, hidden], random([vocabulary.count, hidden], scale: 1)))
        tensors.append(("embeddings.position_embeddings.weight", [positions, hidden], random([positions, hidden], scale: 0.1)))
        tensors.append(("embeddings.token_type_embeddings.weight", [2, hidden], random([2, hidden], scale: labels == nil ? 0.1 : 0.8)))
        tensors.append(("embeddings.position_ids", [1, positions], []))
        norm("embeddings.LayerNorm")
        for layer in 0..<layers {
            let p = "encoder.layer.\(layer)."
            for part in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"] {
                tensors.append((p + part + ".weight", [hidden, hidden], random([hidden, hidden])))
                tensors.append((p + part + ".bias", [hidden], random([hidden], scale: 0.02)))
            }
            norm(p + "attention.output.LayerNorm")
            tensors.append((p + "intermediate.dense.weight", [intermediate, hidden], random([intermediate, hidden])))
            tensors.append((p + "intermediate.dense.bias", [intermediate], random([intermediate], scale: 0.02)))
            tensors.append((p + "output.dense.weight", [hidden, intermediate], random([hidden, intermediate])))
            tensors.append((p + "output.dense.bias", [hidden], random([hidden], scale: 0.02)))
            norm(p + "output.LayerNorm")
        }
        tensors.append(("pooler.dense.weight", [hidden, hidden], random([hidden, hidden])))
        tensors.append(("pooler.dense.bias", [hidden], random([hidden])))
        if let labels {
            tensors = tensors.map { name, shape, values in (name == "embeddings.position_ids" ? name : "bert." + name, shape, values) }
            tensors.append(("classifier.weight", [labels, hidden], random([labels, hidden], scale: 1)))
            tensors.append(("classifier.bias", [labels], random([labels], scale: 0.5)))
        }

        var header: [String: Any] = ["__metadata__": ["format": "pt"]]
        var body = ByteWriter()
        for (name, shape, values) in tensors {
            let start = body.count
            if name == "embeddings.position_ids" {
                for position in 0..<positions { body.append(Int64(position)) }
                header[name] = ["dtype": "I64", "shape": shape, "data_offsets": [start, body.count]]
            } else {
                body.append(floats: values)
                header[name] = ["dtype": "F32", "shape": shape, "data_offsets": [start, body.count]]
            }
        }
        let headerBytes = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        var file = ByteWriter()
        file.append(UInt64(headerBytes.count))
        file.append(contentsOf: headerBytes)
        file.append(contentsOf: body.bytes)
        try Data(file.bytes).write(to: directory.appendingPathComponent("model.safetensors"))
    }
}
