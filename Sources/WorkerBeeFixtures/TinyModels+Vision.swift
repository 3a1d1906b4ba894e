import Foundation
import GGUF

extension TinyModels {
    /// What ``writeVisionModel(to:seed:projectorOutput:)`` wrote.
    public struct VisionModelFiles: Sendable {
        /// The text model (llama architecture, with a chat template).
        public let model: URL
        /// The projector (`clip`, projector type `mlp`, as LLaVA 1.5).
        public let projector: URL
    }

    /// The chat template the tiny text model carries (ChatML, which llama.cpp recognises).
    public static let chatMLTemplate = """
        {% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}
        """

    /// Writes a tiny vision-language model: a 2-layer llama text model (64 wide, a byte-fallback
    /// SentencePiece vocabulary, a ChatML template) and a matching LLaVA-style `mmproj` (a 2-layer
    /// CLIP ViT on 32x32 images in 8x8 patches, and a 2-layer MLP projector), with seeded random
    /// weights. It reads nothing, but it exercises the whole libmtmd pipeline.
    /// - Parameters:
    ///   - directory: created if missing; gets `tiny-vision.gguf` and `mmproj-tiny-vision.gguf`.
    ///   - seed: the weight seed.
    ///   - projectorOutput: the projector's output width; anything but 64 makes a projector that
    ///     does not fit the text model (for testing that error).
    @discardableResult
    public static func writeVisionModel(to directory: URL, seed: UInt64 = 7, projectorOutput: Int = 64) throws -> VisionModelFiles {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var generator = SeededGenerator(seed: seed)
        let files = VisionModelFiles(
            model: directory.appendingPathComponent("tiny-vision.gguf"),
            projector: directory.appendingPathComponent("mmproj-tiny-vision.gguf"))
        try textModel(using: &generator).write(to: files.model)
        try projector(output: projectorOutput, using: &generator).write(to: files.projector)
        return files
    }

    /// Writes a byte-fallback SentencePiece vocabulary (llama.cpp's `llama` tokenizer): `<unk>`,
    /// `<s>`, `</s>`, ChatML's `<|im_start|>` and `<|im_end|>` (the end-of-generation token), the
    /// 256 byte tokens, then `pieces`, longer pieces scoring higher. Returns the vocabulary size.
    static func setSentencePieceVocabulary(pieces: [String], addsBOS: Bool, in writer: inout GGUFWriter) -> Int {
        var tokens = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
        var types: [Int32] = [2, 3, 3, 3, 3]
        for byte in 0..<256 {
            tokens.append(String(format: "<0x%02X>", byte))
            types.append(6)
        }
        tokens += pieces
        types += pieces.map { _ in 1 }
        let scores = tokens.enumerated().map { index, token -> GGUFValue in
            .float32(types[index] == 1 ? -Float(index) / 100 + Float(token.count) : 0)
        }
        writer.set("tokenizer.ggml.model", .string("llama"))
        writer.set("tokenizer.ggml.tokens", .array(elementType: .string, elements: tokens.map { .string($0) }))
        writer.set("tokenizer.ggml.scores", .array(elementType: .float32, elements: scores))
        writer.set("tokenizer.ggml.token_type", .array(elementType: .int32, elements: types.map { .int32($0) }))
        writer.set("tokenizer.ggml.unknown_token_id", .uint32(0))
        writer.set("tokenizer.ggml.bos_token_id", .uint32(1))
        writer.set("tokenizer.ggml.eos_token_id", .uint32(4))
        writer.set("tokenizer.ggml.add_bos_token", .bool(addsBOS))
        writer.set("tokenizer.ggml.add_eos_token", .bool(false))
        return tokens.count
    }

    static func add(_ writer: inout GGUFWriter, _ name: String, _ dimensions: [Int], _ generator: inout SeededGenerator, scale: Float = 0.2, constant: Float? = nil) throws {
        let count = dimensions.reduce(1, *)
        let values = (0..<count).map { _ in constant ?? Float.random(in: -scale...scale, using: &generator) }
        try writer.addTensor(name: name, dimensions: dimensions, type: .f32, data: Float16Conversion.floatData(values))
    }

    private static func textModel(using generator: inout SeededGenerator) throws -> GGUFWriter {
        let embd = 64, layers = 2, heads = 4, ff = 128, context = 4096
        let pieces = ["\u{2581}"] + (Array("abcdefghijklmnopqrstuvwxyz0123456789.,:|#-*").map { String($0) })
            + ["\u{2581}the", "\u{2581}a", "\u{2581}page", "\u{2581}text", "\u{2581}table", "\u{2581}title", "th", "he", "in", "er", "an", "re",
               "\u{2581}t", "\u{2581}s", "\u{2581}w", "\u{2581}o", "on", "at", "en", "nd", "ti", "es", "or", "te", "of", "ed", "is", "it",
               "\u{2581}user", "\u{2581}assistant", "user", "assistant", "\n", "\u{2581}|", "\u{2581}#", "\u{2581}-"]
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("llama"))
        writer.set("general.name", .string("tiny-vision"))
        writer.set("general.file_type", .uint32(0))
        writer.set("llama.context_length", .uint32(UInt32(context)))
        writer.set("llama.embedding_length", .uint32(UInt32(embd)))
        writer.set("llama.block_count", .uint32(UInt32(layers)))
        writer.set("llama.feed_forward_length", .uint32(UInt32(ff)))
        writer.set("llama.attention.head_count", .uint32(UInt32(heads)))
        writer.set("llama.attention.head_count_kv", .uint32(UInt32(heads)))
        writer.set("llama.attention.layer_norm_rms_epsilon", .float32(1e-5))
        writer.set("llama.rope.dimension_count", .uint32(UInt32(embd / heads)))
        writer.set("llama.rope.freq_base", .float32(10000))
        let vocabulary = setSentencePieceVocabulary(pieces: pieces, addsBOS: true, in: &writer)
        writer.set("tokenizer.chat_template", .string(chatMLTemplate))
        try add(&writer, "token_embd.weight", [embd, vocabulary], &generator, scale: 1)
        try add(&writer, "output_norm.weight", [embd], &generator, constant: 1)
        // Zero rows for the end-of-generation tokens give them a logit of exactly 0, below the best of
        // the other 300-odd random logits, so greedy generation runs to the token cap or the context:
        // long, predictable runs for timeout and cancellation tests.
        var output = (0..<(embd * vocabulary)).map { _ in Float.random(in: -0.5...0.5, using: &generator) }
        for token in [2, 4] { for column in 0..<embd { output[token * embd + column] = 0 } }
        try writer.addTensor(name: "output.weight", dimensions: [embd, vocabulary], type: .f32, data: Float16Conversion.floatData(output))
        for layer in 0..<layers {
            let p = "blk.\(layer)."
            try add(&writer, p + "attn_norm.weight", [embd], &generator, constant: 1)
            for part in ["attn_q", "attn_k", "attn_v", "attn_output"] { try add(&writer, p + part + ".weight", [embd, embd], &generator) }
            try add(&writer, p + "ffn_norm.weight", [embd], &generator, constant: 1)
            try add(&writer, p + "ffn_gate.weight", [embd, ff], &generator)
            try add(&writer, p + "ffn_up.weight", [embd, ff], &generator)
            try add(&writer, p + "ffn_down.weight", [ff, embd], &generator)
        }
        return writer
    }

    private static func projector(output: Int, using generator: inout SeededGenerator) throws -> GGUFWriter {
        let embd = 32, layers = 2, heads = 4, ff = 64, imageSize = 32, patch = 8, hidden = 64
        let positions = (imageSize / patch) * (imageSize / patch) + 1
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("clip"))
        writer.set("general.name", .string("mmproj-tiny-vision"))
        writer.set("general.file_type", .uint32(0))
        writer.set("clip.projector_type", .string("mlp"))
        writer.set("clip.has_vision_encoder", .bool(true))
        writer.set("clip.has_text_encoder", .bool(false))
        writer.set("clip.use_gelu", .bool(true))
        writer.set("clip.vision.image_size", .uint32(UInt32(imageSize)))
        writer.set("clip.vision.patch_size", .uint32(UInt32(patch)))
        writer.set("clip.vision.embedding_length", .uint32(UInt32(embd)))
        writer.set("clip.vision.feed_forward_length", .uint32(UInt32(ff)))
        writer.set("clip.vision.projection_dim", .uint32(UInt32(output)))
        writer.set("clip.vision.block_count", .uint32(UInt32(layers)))
        writer.set("clip.vision.attention.head_count", .uint32(UInt32(heads)))
        writer.set("clip.vision.attention.layer_norm_epsilon", .float32(1e-5))
        writer.set("clip.vision.image_mean", .array(elementType: .float32, elements: [.float32(0.5), .float32(0.5), .float32(0.5)]))
        writer.set("clip.vision.image_std", .array(elementType: .float32, elements: [.float32(0.5), .float32(0.5), .float32(0.5)]))
        try add(&writer, "v.patch_embd.weight", [patch, patch, 3, embd], &generator, scale: 0.1)
        try add(&writer, "v.class_embd", [embd], &generator)
        try add(&writer, "v.position_embd.weight", [embd, positions], &generator, scale: 0.1)
        try add(&writer, "v.pre_ln.weight", [embd], &generator, constant: 1)
        try add(&writer, "v.pre_ln.bias", [embd], &generator, constant: 0)
        for layer in 0..<layers {
            let p = "v.blk.\(layer)."
            for norm in ["ln1", "ln2"] {
                try add(&writer, p + norm + ".weight", [embd], &generator, constant: 1)
                try add(&writer, p + norm + ".bias", [embd], &generator, constant: 0)
            }
            for part in ["attn_q", "attn_k", "attn_v", "attn_out"] {
                try add(&writer, p + part + ".weight", [embd, embd], &generator)
                try add(&writer, p + part + ".bias", [embd], &generator, scale: 0.02)
            }
            try add(&writer, p + "ffn_up.weight", [embd, ff], &generator)
            try add(&writer, p + "ffn_up.bias", [ff], &generator, scale: 0.02)
            try add(&writer, p + "ffn_down.weight", [ff, embd], &generator)
            try add(&writer, p + "ffn_down.bias", [embd], &generator, scale: 0.02)
        }
        try add(&writer, "mm.0.weight", [embd, hidden], &generator)
        try add(&writer, "mm.0.bias", [hidden], &generator, scale: 0.02)
        try add(&writer, "mm.2.weight", [hidden, output], &generator)
        try add(&writer, "mm.2.bias", [output], &generator, scale: 0.02)
        return writer
    }
}
