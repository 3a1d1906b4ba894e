/// Appends little-endian values to a growing byte array.
///
/// Shared by the GGUF writer and the wire protocol, both of which are little-endian.
public struct ByteWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8]

    /// Creates an empty writer.
    /// - Parameter capacity: bytes to reserve up front.
    public init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// The number of bytes written so far.
    public var count: Int { bytes.count }

    /// Appends an integer in little-endian order.
    public mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Appends a `Float` as its IEEE-754 bits in little-endian order.
    public mutating func append(_ value: Float) { append(value.bitPattern) }

    /// Appends a `Double` as its IEEE-754 bits in little-endian order.
    public mutating func append(_ value: Double) { append(value.bitPattern) }

    /// Appends `true` as 1 and `false` as 0, in one byte.
    public mutating func append(_ value: Bool) { bytes.append(value ? 1 : 0) }

    /// Appends raw bytes unchanged.
    public mutating func append<C: Collection>(contentsOf raw: C) where C.Element == UInt8 {
        bytes.append(contentsOf: raw)
    }

    /// Appends a run of floats as packed little-endian Float32.
    public mutating func append(floats: [Float]) {
        #if _endian(little)
        floats.withUnsafeBytes { bytes.append(contentsOf: $0) }
        #else
        for value in floats { append(value) }
        #endif
    }

    /// Appends a string as its UTF-8 bytes preceded by a length of type `Length`.
    public mutating func appendString<Length: FixedWidthInteger>(_ value: String, lengthType: Length.Type) {
        let utf8 = Array(value.utf8)
        append(Length(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    /// Appends zero bytes until the count is a multiple of `alignment`.
    public mutating func pad(toMultipleOf alignment: Int) {
        let remainder = bytes.count % alignment
        if remainder != 0 { bytes.append(contentsOf: repeatElement(0, count: alignment - remainder)) }
    }
}
