import Foundation
import GGUF

extension TinyModels {
    /// The `rerank` template llama.cpp's converter gives Qwen3-Reranker (`tokenizer.chat_template.rerank`).
    public static let qwen3RerankTemplate = """
        <|im_start|>system
        Judge whether the Document meets the requirements based on the Query and the Instruct provided. Note that the answer can only be "yes" or "no".<|im_end|>
        <|im_start|>user
        <Instruct>: Given a web search query, retrieve relevant passages that answer the query
        <Query>: {query}
        <Document>: {document}<|im_end|>
        <|im_start|>assistant
        <think>

        </think>


        """

    /// Writes a tiny LLM reranker as llama.cpp converts Qwen3-Reranker: the `qwen3` architecture
    /// (2 layers, 32 wide), rank pooling, a `cls.output` head of two rows (the "yes" and "no"
    /// logits) with labels `yes`, `no`, and with `template` the rerank template; a byte-fallback
    /// SentencePiece vocabulary with ChatML's special tokens (`<|im_end|>` is id 4). Seeded
    /// random weights.
    public static func writeQwen3Reranker(to url: URL, template: Bool = true, seed: UInt64 = 11) throws {
        var generator = SeededGenerator(seed: seed)
        let embd = 32, layers = 2, heads = 4, kvHeads = 2, headSize = 8, ff = 64
        let pieces = ["\u{2581}"] + Array("abcdefghijklmnopqrstuvwxyz:<>.,!?\"").map({ String($0) })
            + ["\u{2581}the", "\u{2581}a", "\u{2581}bee", "\u{2581}query", "he", "er", "in"]
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("qwen3"))
        writer.set("general.name", .string("tiny-qwen3-reranker"))
        writer.set("general.file_type", .uint32(0))
        writer.set("qwen3.context_length", .uint32(512))
        writer.set("qwen3.embedding_length", .uint32(UInt32(embd)))
        writer.set("qwen3.block_count", .uint32(UInt32(layers)))
        writer.set("qwen3.feed_forward_length", .uint32(UInt32(ff)))
        writer.set("qwen3.attention.head_count", .uint32(UInt32(heads)))
        writer.set("qwen3.attention.head_count_kv", .uint32(UInt32(kvHeads)))
        writer.set("qwen3.attention.key_length", .uint32(UInt32(headSize)))
        writer.set("qwen3.attention.value_length", .uint32(UInt32(headSize)))
        writer.set("qwen3.attention.layer_norm_rms_epsilon", .float32(1e-6))
        writer.set("qwen3.rope.freq_base", .float32(1_000_000))
        writer.set("qwen3.pooling_type", .uint32(4))
        writer.set("qwen3.classifier.output_labels", .array(elementType: .string, elements: [.string("yes"), .string("no")]))
        let vocabulary = setSentencePieceVocabulary(pieces: pieces, addsBOS: false, in: &writer)
        if template { writer.set("tokenizer.chat_template.rerank", .string(qwen3RerankTemplate)) }
        try add(&writer, "token_embd.weight", [embd, vocabulary], &generator, scale: 1)
        try add(&writer, "output_norm.weight", [embd], &generator, constant: 1)
        try add(&writer, "cls.output.weight", [embd, 2], &generator, scale: 1)
        for layer in 0..<layers {
            let p = "blk.\(layer)."
            try add(&writer, p + "attn_norm.weight", [embd], &generator, constant: 1)
            try add(&writer, p + "attn_q.weight", [embd, heads * headSize], &generator)
            try add(&writer, p + "attn_k.weight", [embd, kvHeads * headSize], &generator)
            try add(&writer, p + "attn_v.weight", [embd, kvHeads * headSize], &generator)
            try add(&writer, p + "attn_output.weight", [heads * headSize, embd], &generator)
            try add(&writer, p + "attn_q_norm.weight", [headSize], &generator, constant: 1)
            try add(&writer, p + "attn_k_norm.weight", [headSize], &generator, constant: 1)
            try add(&writer, p + "ffn_norm.weight", [embd], &generator, constant: 1)
            try add(&writer, p + "ffn_gate.weight", [embd, ff], &generator)
            try add(&writer, p + "ffn_up.weight", [embd, ff], &generator)
            try add(&writer, p + "ffn_down.weight", [ff, embd], &generator)
        }
        try writer.write(to: url)
    }

    /// Copies a GGUF file with some metadata changed (a nil value removes the key) and some
    /// tensors left out: e.g. a converted cross-encoder as llama.cpp's own converter writes it
    /// (without the pooler), or with another tokenizer.
    /// `renaming` renames metadata keys by prefix (`bert.` to `jina-bert-v2.`) and tensors by name.
    public static func rewriteGGUF(
        _ source: URL, to destination: URL, metadata changes: [String: GGUFValue?] = [:], droppingTensors dropped: Set<String> = [], renaming: [String: String] = [:]
    ) throws {
        let file = try GGUFFile(contentsOf: source)
        var writer = GGUFWriter(alignment: file.alignment)
        func renamed(_ key: String) -> String {
            for (old, new) in renaming where old.hasSuffix(".") && key.hasPrefix(old) { return new + key.dropFirst(old.count) }
            return key
        }
        for (key, value) in file.metadata where changes.index(forKey: key) == nil { writer.set(renamed(key), value) }
        for (key, value) in changes { if let value { writer.set(key, value) } }
        for tensor in file.tensors where !dropped.contains(tensor.name) {
            try writer.addTensor(name: renaming[tensor.name] ?? tensor.name, dimensions: tensor.dimensions, type: tensor.type, data: try file.bytes(of: tensor))
        }
        try writer.write(to: destination)
    }

    /// A SentencePiece unigram vocabulary (llama.cpp's `t5` tokenizer) of `count` tokens in
    /// XLM-RoBERTa's layout (`<s>` 0, `<pad>` 1, `</s>` 2, `<unk>` 3), with the words of the tiny
    /// BERT models: metadata for ``rewriteGGUF(_:to:metadata:droppingTensors:)`` that turns a
    /// tiny BERT cross-encoder into an XLM-RoBERTa-style one.
    public static func xlmRobertaVocabulary(count: Int) -> [String: GGUFValue?] {
        var tokens = ["<s>", "<pad>", "</s>", "<unk>"]
        var types: [Int32] = [3, 3, 3, 2]
        let words = ["\u{2581}hello", "\u{2581}world", "\u{2581}the", "\u{2581}worker", "\u{2581}bee", "s", "\u{2581}a", "\u{2581}text", "\u{2581}vector",
                     ".", ",", "!", "?", "\u{2581}embed", "\u{2581}", "e", "a", "t", "o", "r", "l", "d", "h", "w"]
        for word in words where tokens.count < count {
            tokens.append(word)
            types.append(1)
        }
        let scores = tokens.enumerated().map { index, _ -> GGUFValue in .float32(types[index] == 1 ? -Float(index) / 10 : 0) }
        return [
            "tokenizer.ggml.model": .string("t5"), "tokenizer.ggml.pre": .string("default"),
            "tokenizer.ggml.tokens": .array(elementType: .string, elements: tokens.map { .string($0) }),
            "tokenizer.ggml.scores": .array(elementType: .float32, elements: scores),
            "tokenizer.ggml.token_type": .array(elementType: .int32, elements: types.map { .int32($0) }),
            "tokenizer.ggml.bos_token_id": .uint32(0), "tokenizer.ggml.padding_token_id": .uint32(1),
            "tokenizer.ggml.eos_token_id": .uint32(2), "tokenizer.ggml.unknown_token_id": .uint32(3),
            "tokenizer.ggml.add_bos_token": .bool(true), "tokenizer.ggml.add_eos_token": .bool(true),
            "tokenizer.ggml.add_sep_token": nil, "tokenizer.ggml.cls_token_id": nil, "tokenizer.ggml.seperator_token_id": nil,
            "tokenizer.ggml.mask_token_id": nil,
        ]
    }
}
