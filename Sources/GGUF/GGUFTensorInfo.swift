/// Where one tensor lives in a GGUF file and what shape it has.
public struct GGUFTensorInfo: Sendable, Equatable {
    /// The tensor's name, e.g. `blk.0.attn_q.weight`.
    public let name: String
    /// Dimensions in ggml order: `dimensions[0]` is the innermost (contiguous) one.
    public let dimensions: [Int]
    /// Element type.
    public let type: GGMLType
    /// Offset of the data from the start of the data section.
    public let offset: Int

    /// Creates a tensor info.
    public init(name: String, dimensions: [Int], type: GGMLType, offset: Int) {
        self.name = name
        self.dimensions = dimensions
        self.type = type
        self.offset = offset
    }

    /// The number of elements (the product of the dimensions).
    public var elementCount: Int { dimensions.reduce(1, *) }

    /// The size of the data in bytes, or nil for a type this module does not know.
    public var byteCount: Int? { type.byteCount(elements: elementCount) }
}
