import BinaryCoding

/// Embedding vectors for one request, packed as Float32.
public struct EmbedResult: Sendable, Equatable {
    /// Length of each vector.
    public var dimension: Int
    /// `count * dimension` floats, vector after vector, in input order.
    public var values: [Float]
    /// Tokens each text used (after truncation).
    public var tokenCounts: [Int]
    /// Whether each text was cut to fit the context.
    public var truncated: [Bool]

    /// Creates a result.
    public init(dimension: Int, values: [Float], tokenCounts: [Int], truncated: [Bool]) {
        self.dimension = dimension
        self.values = values
        self.tokenCounts = tokenCounts
        self.truncated = truncated
    }

    /// The number of vectors.
    public var count: Int { tokenCounts.count }

    /// The vectors, one array each.
    public var vectors: [[Float]] {
        guard dimension > 0 else { return Array(repeating: [], count: count) }
        return (0..<count).map { Array(values[($0 * dimension)..<(($0 + 1) * dimension)]) }
    }
}

/// Text read from an image.
public struct VisionResult: Sendable, Equatable {
    /// The generated text.
    public var text: String
    /// Tokens in the prompt, image tokens included.
    public var promptTokens: Int
    /// Tokens generated.
    public var generatedTokens: Int

    /// Creates a result.
    public init(text: String, promptTokens: Int, generatedTokens: Int) {
        self.text = text
        self.promptTokens = promptTokens
        self.generatedTokens = generatedTokens
    }
}

/// Who the worker is, sent once when it starts.
public struct WorkerHello: Sendable, Equatable {
    /// The protocol version the worker speaks.
    public var protocolVersion: UInt32
    /// The worker's process id.
    public var pid: Int32
    /// llama.cpp build and system information.
    public var buildInfo: String

    /// Creates a hello.
    public init(protocolVersion: UInt32 = WireProtocol.version, pid: Int32, buildInfo: String) {
        self.protocolVersion = protocolVersion
        self.pid = pid
        self.buildInfo = buildInfo
    }
}

/// A failure the worker reports for one request; the worker stays up.
public struct WorkerFailure: Sendable, Equatable {
    /// A stable machine-readable code, e.g. `modelNotFound`, `cancelled`.
    public var code: String
    /// A sentence for a person.
    public var message: String

    /// Creates a failure.
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    /// The code of a request that was cancelled.
    public static let cancelledCode = "cancelled"
}

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
    /// A request failed.
    case failure(WorkerFailure)

    enum Kind: UInt8 {
        case hello = 0x81, embeddings = 0x82, text = 0x83, loaded = 0x84, failure = 0x85
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
        case .loaded:
            kind = .loaded
        case .failure(let failure):
            kind = .failure
            out.appendString(failure.code, lengthType: UInt32.self)
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
            case .loaded:
                return .loaded
            case .failure:
                return .failure(WorkerFailure(code: try reader.string(), message: try reader.string()))
            }
        }
    }
}

/// The cosine of the angle between two vectors (1 for the same direction); 0 if either is all zeros.
public func cosineSimilarity(_ a: [Float], _ b: [Float]) -> Double {
    var dot = 0.0, normA = 0.0, normB = 0.0
    for (x, y) in zip(a, b) {
        dot += Double(x) * Double(y)
        normA += Double(x) * Double(x)
        normB += Double(y) * Double(y)
    }
    let denominator = (normA * normB).squareRoot()
    return denominator > 0 ? dot / denominator : 0
}
