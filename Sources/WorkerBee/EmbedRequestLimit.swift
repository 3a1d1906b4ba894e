import WorkerBeeWire

/// How much one embed request to a worker may hold. The host splits every call into requests
/// within this limit, whatever the call's size, so that each request takes a bounded time (the
/// embed timeout applies to each) and its answer stays far below the frame cap.
///
/// The defaults keep a request to a few seconds on one CPU thread and its answer to a few MiB:
/// 512 texts of 384 floats is 0.8 MiB; 32 KiB of text is at most about 8,000 tokens. The
/// engine packs at most 256 tokens per llama.cpp call anyway, so larger requests would not be
/// faster (see docs/PERFORMANCE.md).
public struct EmbedRequestLimit: Sendable, Equatable {
    /// Most texts in one request.
    public var texts: Int
    /// Most UTF-8 bytes of text in one request (each text counts 16 bytes more, for its framing
    /// and special tokens). A single text larger than this goes alone.
    public var bytes: Int

    /// Creates a limit.
    public init(texts: Int = 512, bytes: Int = 32 << 10) {
        self.texts = max(1, texts)
        self.bytes = max(1, bytes)
    }

    /// The bytes a text counts for.
    static func cost(of text: String) -> Int { text.utf8.count + 16 }

    /// Contiguous ranges of `texts`, in order, each within the limit.
    /// - Parameter extraBytes: bytes each text counts for besides its own (the query a rerank
    ///   request pairs with every document).
    public func requests(for texts: [String], extraBytes: Int = 0) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = 0
        var bytes = 0
        for (index, text) in texts.enumerated() {
            let cost = Self.cost(of: text) + extraBytes
            if index > start && (index - start >= self.texts || bytes + cost > self.bytes) {
                ranges.append(start..<index)
                start = index
                bytes = 0
            }
            bytes += cost
        }
        if start < texts.count { ranges.append(start..<texts.count) }
        return ranges
    }

    /// Whether one more text of `cost` bytes fits a request that holds `count` texts of `bytes`.
    func fits(count: Int, bytes: Int, adding cost: Int) -> Bool {
        count == 0 || (count < texts && bytes + cost <= self.bytes)
    }
}
