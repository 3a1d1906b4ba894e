import BinaryCoding

/// A message from the worker to the host.
public enum WorkerResponse: Sendable, Equatable {
    /// Sent once at start-up, with request id 0.
    case hello(WorkerHello)
    /// The answer to an embed request.
    case embeddings(EmbedResult)
    /// The answer to a vision request.
    case text(VisionResult)
    /// The acknowledgement of a load-model request.
    case loaded
    /// The answer to a tokenize request: token ids per text, special tokens included.
    case tokens([[Int32]])
    /// The answer to `.recognize`.
    case recognized(RecognizedText)
    /// A request failed.
    case failure(WorkerFailure)

    enum Kind: UInt8 {
        case hello = 0x81, embeddings = 0x82, text = 0x83, loaded = 0x84, failure = 0x85, tokens = 0x86, recognized = 0x87
    }

    /// Encodes the response as a frame for `requestID`.
    public func frame(requestID: UInt64) -> Frame {
        var out = ByteWriter()
        let kind: Kind
        switch self {
        case .hello(let hello):
            kind = .hello
            out.append(hello.protocolVersion)
            out.append(hello.pid)
            out.appendString(hello.buildInfo, lengthType: UInt32.self)
        case .embeddings(let result):
            kind = .embeddings
            out = ByteWriter(capacity: 8 + result.values.count * 4 + result.count * 5)
            out.append(UInt32(result.dimension))
            out.append(UInt32(result.count))
            out.append(floats: result.values)
            for (tokens, cut) in zip(result.tokenCounts, result.truncated) {
                out.append(UInt32(tokens))
                out.append(cut)
            }
        case .text(let result):
            kind = .text
            out.appendString(result.text, lengthType: UInt32.self)
            out.append(UInt32(result.promptTokens))
            out.append(UInt32(result.generatedTokens))
        case .recognized(let result):
            kind = .recognized
            out.appendString(result.text, lengthType: UInt32.self)
            out.append(UInt32(clamping: max(0, result.confidence)))
        case .loaded:
            kind = .loaded
        case .tokens(let tokens):
            kind = .tokens
            out.append(tokenLists: tokens)
        case .failure(let failure):
            kind = .failure
            out.appendString(failure.code.name, lengthType: UInt32.self)
            out.appendString(failure.message, lengthType: UInt32.self)
        }
        return Frame(kind: kind.rawValue, requestID: requestID, payload: out.bytes)
    }

    /// Decodes a response frame.
    /// - Throws: ``WireError`` for an unknown kind or a malformed payload.
    public init(frame: Frame) throws(WireError) {
        guard let kind = Kind(rawValue: frame.kind) else {
            throw WireError(.unknownMessage, "unknown response kind 0x\(String(frame.kind, radix: 16))")
        }
        self = try PayloadReader.decode(frame) { reader throws(WireError) in
            switch kind {
            case .hello:
                let version: UInt32 = try reader.integer()
                let pid: Int32 = try reader.integer()
                return .hello(WorkerHello(protocolVersion: version, pid: pid, buildInfo: try reader.string()))
            case .embeddings:
                let dimension = Int(try reader.integer() as UInt32)
                let count = Int(try reader.integer() as UInt32)
                let (total, overflow) = dimension.multipliedReportingOverflow(by: count)
                guard !overflow, total <= reader.remaining / 4 else {
                    throw WireError(.malformed, "embeddings announce \(count) x \(dimension) floats, more than the frame holds")
                }
                let values = try reader.floats(total)
                var tokens: [Int] = []
                var cut: [Bool] = []
                for _ in 0..<count {
                    tokens.append(Int(try reader.integer() as UInt32))
                    cut.append(try reader.bool())
                }
                return .embeddings(EmbedResult(dimension: dimension, values: values, tokenCounts: tokens, truncated: cut))
            case .text:
                let text = try reader.string()
                let prompt = Int(try reader.integer() as UInt32)
                let generated = Int(try reader.integer() as UInt32)
                return .text(VisionResult(text: text, promptTokens: prompt, generatedTokens: generated))
            case .recognized:
                let text = try reader.string()
                return .recognized(RecognizedText(text: text, confidence: Int(try reader.integer() as UInt32)))
            case .loaded:
                return .loaded
            case .tokens:
                return .tokens(try reader.tokenLists())
            case .failure:
                return .failure(WorkerFailure(code: FailureCode(try reader.string()), message: try reader.string()))
            }
        }
    }
}
