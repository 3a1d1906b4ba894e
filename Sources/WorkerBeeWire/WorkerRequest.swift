import BinaryCoding

/// A message from the host to the worker.
public enum WorkerRequest: Sendable, Equatable {
    /// Embed texts, or score (query, document) pairs with a reranker when the request carries
    /// queries; answered by ``WorkerResponse/embeddings(_:)``.
    case embed(EmbedRequest)
    /// Embed texts given as token ids; answered by ``WorkerResponse/embeddings(_:)``.
    case embedTokens(model: String, normalize: Bool, tokens: [[Int32]])
    /// Tokenize texts with the model's tokenizer; answered by ``WorkerResponse/tokens(_:)``.
    case tokenize(model: String, texts: [String])
    /// Read an image; answered by ``WorkerResponse/text(_:)``.
    case vision(VisionRequest)
    /// Read the text in an image with Tesseract; `language` is Tesseract's (`eng`, `eng+deu`).
    case recognize(language: String, image: [UInt8])
    /// Unload the model of this kind, then load `model` if it is not empty; answered by ``WorkerResponse/loaded``.
    case loadModel(kind: ModelKind, model: String)
    /// Abort the request whose id the frame carries; the worker answers that request with a `cancelled` failure.
    case cancel
    /// Exit cleanly; no answer.
    case shutdown

    enum Kind: UInt8 {
        case embed = 0x01, vision = 0x02, loadModel = 0x03, cancel = 0x04, shutdown = 0x05, embedTokens = 0x06, tokenize = 0x07, recognize = 0x08
    }

    /// Encodes the request as a frame for `requestID`.
    public func frame(requestID: UInt64) -> Frame {
        var out = ByteWriter()
        let kind: Kind
        switch self {
        case .embed(let request):
            kind = .embed
            out.appendString(request.model, lengthType: UInt32.self)
            out.append(request.normalize)
            out.append(request.truncateStart)
            out.append(UInt32(request.texts.count))
            for text in request.texts { out.appendString(text, lengthType: UInt32.self) }
            out.append(UInt32(request.queries.count))
            for query in request.queries { out.appendString(query, lengthType: UInt32.self) }
        case .vision(let request):
            kind = .vision
            out.appendString(request.model, lengthType: UInt32.self)
            out.appendString(request.projector, lengthType: UInt32.self)
            out.appendString(request.prompt, lengthType: UInt32.self)
            out.append(request.maxTokens)
            out.append(UInt32(request.image.count))
            out.append(contentsOf: request.image)
        case .loadModel(let modelKind, let model):
            kind = .loadModel
            out.append(modelKind.rawValue)
            out.appendString(model, lengthType: UInt32.self)
        case .embedTokens(let model, let normalize, let tokens):
            kind = .embedTokens
            out.appendString(model, lengthType: UInt32.self)
            out.append(normalize)
            out.append(tokenLists: tokens)
        case .tokenize(let model, let texts):
            kind = .tokenize
            out.appendString(model, lengthType: UInt32.self)
            out.append(UInt32(texts.count))
            for text in texts { out.appendString(text, lengthType: UInt32.self) }
        case .recognize(let language, let image):
            kind = .recognize
            out.appendString(language, lengthType: UInt32.self)
            out.append(UInt32(image.count))
            out.append(contentsOf: image)
        case .cancel:
            kind = .cancel
        case .shutdown:
            kind = .shutdown
        }
        return Frame(kind: kind.rawValue, requestID: requestID, payload: out.bytes)
    }

    /// Decodes a request frame.
    /// - Throws: ``WireError`` for an unknown kind or a malformed payload.
    public init(frame: Frame) throws(WireError) {
        guard let kind = Kind(rawValue: frame.kind) else {
            throw WireError(.unknownMessage, "unknown request kind 0x\(String(frame.kind, radix: 16))")
        }
        self = try PayloadReader.decode(frame) { reader throws(WireError) in
            switch kind {
            case .embed:
                let model = try reader.string()
                let normalize = try reader.bool()
                let truncateStart = try reader.bool()
                let count = try reader.count(minimumBytesEach: 4)
                var texts: [String] = []
                texts.reserveCapacity(count)
                for _ in 0..<count { texts.append(try reader.string()) }
                let queryCount = try reader.count(minimumBytesEach: 4)
                guard queryCount == 0 || queryCount == count else {
                    throw WireError(.malformed, "an embed request of \(count) texts carries \(queryCount) queries")
                }
                var queries: [String] = []
                queries.reserveCapacity(queryCount)
                for _ in 0..<queryCount { queries.append(try reader.string()) }
                return .embed(EmbedRequest(model: model, normalize: normalize, texts: texts, truncateStart: truncateStart, queries: queries))
            case .vision:
                let model = try reader.string()
                let projector = try reader.string()
                let prompt = try reader.string()
                let maxTokens: UInt32 = try reader.integer()
                let image = try reader.bytes(try reader.count(minimumBytesEach: 1))
                return .vision(VisionRequest(model: model, projector: projector, prompt: prompt, image: image, maxTokens: maxTokens))
            case .loadModel:
                let raw: UInt8 = try reader.integer()
                guard let modelKind = ModelKind(rawValue: raw) else {
                    throw WireError(.malformed, "unknown model kind \(raw)")
                }
                return .loadModel(kind: modelKind, model: try reader.string())
            case .embedTokens:
                let model = try reader.string()
                let normalize = try reader.bool()
                return .embedTokens(model: model, normalize: normalize, tokens: try reader.tokenLists())
            case .tokenize:
                let model = try reader.string()
                let count = try reader.count(minimumBytesEach: 4)
                var texts: [String] = []
                texts.reserveCapacity(count)
                for _ in 0..<count { texts.append(try reader.string()) }
                return .tokenize(model: model, texts: texts)
            case .recognize:
                let language = try reader.string()
                return .recognize(language: language, image: try reader.bytes(try reader.count(minimumBytesEach: 1)))
            case .cancel: return .cancel
            case .shutdown: return .shutdown
            }
        }
    }
}
