internal import CLlama
import CWorkerBeeSystem
import Foundation
import GGUF
import WorkerBeeWire
import WorkerBeeImages

/// A vision-language model (a GGUF text model plus its `mmproj` projector) on llama.cpp's
/// libmtmd, reading the text on page images.
///
/// The prompt is built with the model's own chat template (`tokenizer.chat_template`, applied
/// through llama.cpp) with the media marker before the instruction, or a plain
/// `USER:`/`ASSISTANT:` layout when the model has none. Generation is greedy and stops at an
/// end-of-generation token, the context's end, or the token cap. Not thread-safe.
public final class VisionModel {
    /// The instruction used when a request gives none.
    public static let defaultInstruction = """
        Transcribe all of the text on this page as clean Markdown. Keep the reading order, headings and \
        lists; write tables as Markdown tables; do not describe pictures or add any commentary.
        """

    /// Largest image accepted, in pixels (the decoded RGB bitmap takes 3 bytes a pixel).
    public static let maximumPixels = 64_000_000

    /// How to load and run the model.
    public struct Options: Sendable, Equatable {
        /// CPU threads; nil means all cores.
        public var threads: Int?
        /// Context size in tokens (prompt, image and generated text together).
        public var contextSize: Int
        /// Tokens per decode batch.
        public var batchSize: Int
        /// Layers to offload to a GPU when llama.cpp has one; nil means all, 0 means none.
        public var gpuLayers: Int?

        /// Creates options.
        public init(threads: Int? = nil, contextSize: Int = 4096, batchSize: Int = 512, gpuLayers: Int? = nil) {
            self.gpuLayers = gpuLayers
            self.threads = threads
            self.contextSize = contextSize
            self.batchSize = batchSize
        }
    }

    /// The text model file.
    public let modelURL: URL
    /// The projector file.
    public let projectorURL: URL
    /// The projector type (`clip.projector_type`).
    public let projectorType: String

    private let model: OpaquePointer
    private let context: OpaquePointer
    private let multimodal: OpaquePointer
    private let vocab: OpaquePointer
    private let template: String?
    private let options: Options
    /// Called right before each generated token's llama.cpp call with the tokens generated so
    /// far (tests use it to raise the abort signal while llama.cpp runs).
    var beforeDecode: ((Int) -> Void)?
    /// What the last llama.cpp call returned (2 when its abort callback stopped it).
    private(set) var lastDecodeStatus: Int32 = 0

    /// Loads the text model and its projector.
    /// - Throws: ``EngineError``: `.modelNotFound`, `.invalidModel` (not a GGUF, corrupt, a
    ///   projector that does not fit the model), `.loadFailed`.
    public init(model modelURL: URL, projector projectorURL: URL, options: Options = Options()) throws(EngineError) {
        for url in [modelURL, projectorURL] where !FileManager.default.fileExists(atPath: url.path) {
            throw EngineError(.modelNotFound, "\(url.path) does not exist")
        }
        // Only the projector is read with the project's GGUF reader (for its type, which libmtmd
        // does not expose); the text model is parsed once, by llama.cpp, and explained with the
        // reader only if llama.cpp refuses it.
        let projectorFile: GGUFFile
        do {
            projectorFile = try GGUFFile(contentsOf: projectorURL)
        } catch {
            throw EngineError(.invalidModel, "\(projectorURL.lastPathComponent) is not a usable GGUF file: \(error.message)")
        }
        guard projectorFile.architecture == "clip", let projectorType = projectorFile["clip.projector_type"]?.stringValue
            ?? projectorFile["clip.vision.projector_type"]?.stringValue
        else {
            throw EngineError(.invalidModel, "\(projectorURL.lastPathComponent) is not a vision projector (no clip.projector_type)")
        }
        guard let model = LlamaRuntime.loadModel(at: modelURL, gpuLayers: options.gpuLayers) else {
            throw LlamaRuntime.explainLoadFailure(modelURL, purpose: "a vision text model")
        }
        let threads = Int32(max(1, options.threads ?? ProcessInfo.processInfo.activeProcessorCount))
        var contextParams = llama_context_default_params()
        contextParams.n_ctx = UInt32(options.contextSize)
        contextParams.n_batch = UInt32(options.batchSize)
        contextParams.n_ubatch = UInt32(options.batchSize)
        contextParams.n_seq_max = 1
        contextParams.n_threads = threads
        contextParams.n_threads_batch = threads
        contextParams.no_perf = true
        guard let context = llama_init_from_model(model, contextParams) else {
            llama_model_free(model)
            throw EngineError(.loadFailed, "llama.cpp could not create a context for \(modelURL.path)")
        }
        var mtmdParams = mtmd_context_params_default()
        mtmdParams.use_gpu = LlamaRuntime.offloadedLayers(options.gpuLayers) > 0
        mtmdParams.print_timings = false
        mtmdParams.n_threads = threads
        mtmdParams.warmup = false
        guard let multimodal = mtmd_init_from_file(projectorURL.path, model, mtmdParams) else {
            llama_free(context)
            llama_model_free(model)
            throw EngineError(.invalidModel, "libmtmd could not load the projector \(projectorURL.lastPathComponent) (type \(projectorType)) for \(modelURL.lastPathComponent); it may be corrupt or made for another text model (see the worker log)")
        }
        guard mtmd_support_vision(multimodal) else {
            mtmd_free(multimodal)
            llama_free(context)
            llama_model_free(model)
            throw EngineError(.invalidModel, "\(projectorURL.lastPathComponent) has no vision encoder")
        }
        self.modelURL = modelURL
        self.projectorURL = projectorURL
        self.projectorType = projectorType
        self.model = model
        self.context = context
        self.multimodal = multimodal
        self.vocab = llama_model_get_vocab(model)
        self.template = llama_model_chat_template(model, nil).map { String(cString: $0) }
        self.options = options
    }

    deinit {
        mtmd_free(multimodal)
        llama_free(context)
        llama_model_free(model)
    }

    /// The prompt for `instruction`, with the media marker placed before it.
    func prompt(for instruction: String) -> String {
        let marker = String(cString: mtmd_default_marker())
        let content = marker + "\n" + instruction
        if let template {
            let applied: String? = "user".withCString { role in
                content.withCString { text in
                    var message = llama_chat_message(role: role, content: text)
                    var buffer = [CChar](repeating: 0, count: content.utf8.count * 2 + 1024)
                    var length = llama_chat_apply_template(template, &message, 1, true, &buffer, Int32(buffer.count))
                    if length > buffer.count {
                        buffer = [CChar](repeating: 0, count: Int(length) + 1)
                        length = llama_chat_apply_template(template, &message, 1, true, &buffer, Int32(buffer.count))
                    }
                    guard length >= 0 else { return nil }
                    return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                }
            }
            if let applied { return applied }
        }
        return "USER: \(content)\nASSISTANT:"
    }

    /// Reads the text in an image.
    /// - Parameters:
    ///   - image: PNG, JPEG, PGM or PPM bytes.
    ///   - instruction: what to do; empty means ``defaultInstruction``.
    ///   - maxTokens: cap on generated tokens; 0 means bounded only by the context.
    ///   - abort: raised by another thread to stop early (checked by llama.cpp and between tokens).
    /// - Throws: ``EngineError`` `.invalidInput` for bytes that are not a usable image,
    ///   `.cancelled`, `.inferenceFailed`.
    public func read(image: [UInt8], instruction: String = "", maxTokens: Int = 0, abort: AbortSignal? = nil) throws(EngineError) -> VisionResult {
        if image.isEmpty { throw EngineError(.invalidInput, "the image is empty (0 bytes)") }
        guard let header = ImageHeader(image) else {
            throw EngineError(.invalidInput, "the image is not a PNG, JPEG, PGM or PPM (\(image.count) bytes)")
        }
        guard header.width > 0, header.height > 0, header.width * header.height <= Self.maximumPixels else {
            throw EngineError(.invalidInput, "the \(header.format.rawValue) image is \(header.width) x \(header.height) pixels; the limit is \(Self.maximumPixels / 1_000_000) megapixels")
        }
        abort?.install(on: context)
        defer { llama_set_abort_callback(context, nil, nil) }
        llama_memory_clear(llama_get_memory(context), true)

        let wrapper = image.withUnsafeBufferPointer { buffer in
            mtmd_helper_bitmap_init_from_buf(multimodal, buffer.baseAddress, buffer.count, false, mtmd_helper_init_opt_default())
        }
        guard let bitmap = wrapper.bitmap else {
            throw EngineError(.invalidInput, "the \(header.format.rawValue) image could not be decoded")
        }
        defer { mtmd_bitmap_free(bitmap) }
        guard let chunks = mtmd_input_chunks_init() else { throw EngineError(.inferenceFailed, "out of memory") }
        defer { mtmd_input_chunks_free(chunks) }

        let text = prompt(for: instruction.isEmpty ? Self.defaultInstruction : instruction)
        let tokenized: Int32 = text.withCString { pointer in
            var input = mtmd_input_text(text: pointer, text_len: strlen(pointer), add_special: true, parse_special: true)
            var bitmaps: [OpaquePointer?] = [bitmap]
            return bitmaps.withUnsafeMutableBufferPointer { mtmd_tokenize(multimodal, chunks, &input, $0.baseAddress, 1) }
        }
        guard tokenized == 0 else {
            throw EngineError(.invalidInput, "libmtmd could not prepare the image (code \(tokenized))")
        }
        let promptTokens = Int(mtmd_helper_get_n_tokens(chunks))
        guard promptTokens < options.contextSize - 1 else {
            throw EngineError(.invalidInput, "the prompt and image need \(promptTokens) tokens, more than the context of \(options.contextSize)")
        }
        if abort?.isRaised == true { throw EngineError(.cancelled, "cancelled") }
        var position: llama_pos = 0
        let evaluated = mtmd_helper_eval_chunks(multimodal, context, chunks, 0, 0, Int32(options.batchSize), true, &position)
        if abort?.isRaised == true { throw EngineError(.cancelled, "cancelled") }
        guard evaluated == 0 else {
            throw EngineError(.inferenceFailed, "libmtmd failed to evaluate the prompt and image (code \(evaluated))")
        }

        guard let sampler = llama_sampler_chain_init(llama_sampler_chain_default_params()) else {
            throw EngineError(.inferenceFailed, "out of memory")
        }
        defer { llama_sampler_free(sampler) }
        llama_sampler_chain_add(sampler, llama_sampler_init_greedy())
        var output: [UInt8] = []
        var generated = 0
        var piece = [CChar](repeating: 0, count: 256)
        while Int(position) < options.contextSize && (maxTokens == 0 || generated < maxTokens) {
            if abort?.isRaised == true { throw EngineError(.cancelled, "cancelled") }
            var token = llama_sampler_sample(sampler, context, -1)
            if llama_vocab_is_eog(vocab, token) { break }
            generated += 1
            let length = llama_token_to_piece(vocab, token, &piece, Int32(piece.count), 0, false)
            if length > 0 { output += piece.prefix(Int(length)).map { UInt8(bitPattern: $0) } }
            beforeDecode?(generated)
            let status = withUnsafeMutablePointer(to: &token) { llama_decode(context, llama_batch_get_one($0, 1)) }
            lastDecodeStatus = status
            if status == 2 || abort?.isRaised == true { throw EngineError(.cancelled, "cancelled") }
            guard status == 0 else { throw EngineError(.inferenceFailed, "llama.cpp failed while generating (status \(status))") }
            position += 1
        }
        return VisionResult(text: String(decoding: output, as: UTF8.self), promptTokens: promptTokens, generatedTokens: generated)
    }
}
