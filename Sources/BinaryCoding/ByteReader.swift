import Foundation

/// Reads little-endian values from a byte buffer, checking every read against the end.
///
/// A read past the end throws ``ByteReader/OutOfBounds`` instead of trapping, so callers can
/// turn truncated or corrupt input into a clean error.
public struct ByteReader: Sendable {
    /// Thrown when a read would go past the end of the buffer.
    public struct OutOfBounds: Error, Sendable, CustomStringConvertible {
        /// Offset of the failed read from the start of the buffer.
        public let offset: Int
        /// Bytes the read needed.
        public let needed: Int
        /// Bytes that were left.
        public let available: Int
        public var description: String {
            "needed \(needed) bytes at offset \(offset) but only \(available) remain"
        }
    }

    /// The buffer being read.
    public let data: Data
    /// The read position, counted from the start of `data` (not from `data.startIndex`).
    public var offset: Int

    /// Creates a reader at the start of `data`.
    public init(_ data: Data, offset: Int = 0) {
        self.data = data
        self.offset = offset
    }

    /// Bytes left after the read position.
    public var remaining: Int { data.count - offset }

    /// Whether every byte has been read.
    public var isAtEnd: Bool { offset >= data.count }

    /// Throws unless `count` bytes remain.
    public func require(_ count: Int) throws(OutOfBounds) {
        if count < 0 || count > remaining {
            throw OutOfBounds(offset: offset, needed: count, available: remaining)
        }
    }

    /// Reads a little-endian integer.
    public mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) throws(OutOfBounds) -> T {
        let size = MemoryLayout<T>.size
        try require(size)
        let position = offset
        let value = data.withUnsafeBytes { raw in raw.loadUnaligned(fromByteOffset: position, as: T.self) }
        offset += size
        return T(littleEndian: value)
    }

    /// Reads an IEEE-754 `Float`.
    public mutating func readFloat() throws(OutOfBounds) -> Float { Float(bitPattern: try read(UInt32.self)) }

    /// Reads an IEEE-754 `Double`.
    public mutating func readDouble() throws(OutOfBounds) -> Double { Double(bitPattern: try read(UInt64.self)) }

    /// Reads one byte as a boolean (non-zero is true).
    public mutating func readBool() throws(OutOfBounds) -> Bool { try read(UInt8.self) != 0 }

    /// Reads `count` raw bytes.
    public mutating func readBytes(_ count: Int) throws(OutOfBounds) -> Data {
        try require(count)
        let start = data.startIndex + offset
        offset += count
        return data.subdata(in: start..<(start + count))
    }

    /// Reads `count` packed little-endian Float32 values.
    public mutating func readFloats(_ count: Int) throws(OutOfBounds) -> [Float] {
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: 4)
        if overflow { throw OutOfBounds(offset: offset, needed: Int.max, available: remaining) }
        try require(byteCount)
        let start = offset
        offset += byteCount
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            data.withUnsafeBytes { raw in
                #if _endian(little)
                UnsafeMutableRawBufferPointer(buffer).copyMemory(
                    from: UnsafeRawBufferPointer(rebasing: raw[start..<(start + byteCount)]))
                #else
                for index in 0..<count {
                    let bits = raw.loadUnaligned(fromByteOffset: start + index * 4, as: UInt32.self)
                    buffer[index] = Float(bitPattern: UInt32(littleEndian: bits))
                }
                #endif
            }
            initialized = count
        }
    }

    /// Reads a UTF-8 string preceded by a length of type `Length`.
    ///
    /// Invalid UTF-8 is repaired with replacement characters rather than rejected.
    public mutating func readString<Length: FixedWidthInteger>(lengthType: Length.Type) throws(OutOfBounds) -> String {
        let length = try read(Length.self)
        guard let count = Int(exactly: length) else {
            throw OutOfBounds(offset: offset, needed: Int.max, available: remaining)
        }
        try require(count)
        let start = offset
        offset += count
        return data.withUnsafeBytes { raw in
            String(decoding: UnsafeRawBufferPointer(rebasing: raw[start..<(start + count)]), as: UTF8.self)
        }
    }

    /// Moves the read position forward to the next multiple of `alignment`.
    public mutating func align(to alignment: Int) throws(OutOfBounds) {
        let remainder = offset % alignment
        if remainder != 0 {
            try require(alignment - remainder)
            offset += alignment - remainder
        }
    }
}
