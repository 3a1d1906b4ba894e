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

    /// An empty result.
    public static func empty(dimension: Int = 0) -> EmbedResult {
        EmbedResult(dimension: dimension, values: [], tokenCounts: [], truncated: [])
    }

    /// Makes room for `count` vectors of `dimension`.
    public mutating func reserveCapacity(_ count: Int, dimension: Int) {
        values.reserveCapacity(count * dimension)
        tokenCounts.reserveCapacity(count)
        truncated.reserveCapacity(count)
    }

    /// Appends another result's vectors after this one's.
    public mutating func append(_ other: EmbedResult) {
        if count == 0 { dimension = other.dimension }
        values.append(contentsOf: other.values)
        tokenCounts.append(contentsOf: other.tokenCounts)
        truncated.append(contentsOf: other.truncated)
    }

    /// The vector at `index`.
    public func vector(at index: Int) -> [Float] {
        Array(values[(index * dimension)..<((index + 1) * dimension)])
    }

    /// The number of vectors.
    public var count: Int { tokenCounts.count }

    /// The vectors, one array each.
    public var vectors: [[Float]] {
        guard dimension > 0 else { return Array(repeating: [], count: count) }
        return (0..<count).map { vector(at: $0) }
    }
}
