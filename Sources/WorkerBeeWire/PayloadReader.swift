import BinaryCoding

/// Reads a message payload in place and turns any overrun or leftover into a ``WireError``.
struct PayloadReader {
    private let bytes: ArraySlice<UInt8>
    private var offset: Int

    static func decode<T>(_ frame: Frame, _ body: (inout PayloadReader) throws(WireError) -> T) throws(WireError) -> T {
        var payload = PayloadReader(bytes: frame.payload, offset: frame.payload.startIndex)
        let value = try body(&payload)
        guard payload.remaining == 0 else {
            throw WireError(.malformed, "message 0x\(String(frame.kind, radix: 16)) has \(payload.remaining) unexpected trailing bytes")
        }
        return value
    }

    var remaining: Int { bytes.endIndex - offset }

    private mutating func take(_ count: Int) throws(WireError) -> Range<Int> {
        guard count >= 0, count <= remaining else {
            throw WireError(.malformed, "payload too short: \(count) bytes wanted at offset \(offset - bytes.startIndex), \(remaining) left")
        }
        defer { offset += count }
        return offset..<(offset + count)
    }

    mutating func integer<T: FixedWidthInteger>() throws(WireError) -> T {
        let range = try take(MemoryLayout<T>.size)
        return bytes.withUnsafeBytes { raw in
            T(littleEndian: raw.loadUnaligned(fromByteOffset: range.lowerBound - bytes.startIndex, as: T.self))
        }
    }

    mutating func bool() throws(WireError) -> Bool {
        let byte: UInt8 = try integer()
        guard byte <= 1 else { throw WireError(.malformed, "boolean byte \(byte)") }
        return byte == 1
    }

    mutating func string() throws(WireError) -> String {
        let length = Int(try integer() as UInt32)
        let range = try take(length)
        return String(decoding: bytes[range], as: UTF8.self)
    }

    mutating func bytes(_ count: Int) throws(WireError) -> [UInt8] {
        Array(bytes[try take(count)])
    }

    /// `count` little-endian Float32 values, copied once into the result.
    mutating func floats(_ count: Int) throws(WireError) -> [Float] {
        let (total, overflow) = count.multipliedReportingOverflow(by: 4)
        guard !overflow else { throw WireError(.malformed, "a count of \(count) floats overflows") }
        let range = try take(total)
        return bytes.withUnsafeBytes { raw in
            let source = UnsafeRawBufferPointer(rebasing: raw[(range.lowerBound - bytes.startIndex)..<(range.upperBound - bytes.startIndex)])
            return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                #if _endian(little)
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: source)
                #else
                for index in 0..<count {
                    buffer[index] = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)))
                }
                #endif
                initialized = count
            }
        }
    }

    /// Lists of token ids: a u32 count of lists, then each as a u32 count and its i32 ids.
    mutating func tokenLists() throws(WireError) -> [[Int32]] {
        let count = try self.count(minimumBytesEach: 4)
        var lists: [[Int32]] = []
        lists.reserveCapacity(count)
        for _ in 0..<count {
            let length = try self.count(minimumBytesEach: 4)
            var list: [Int32] = []
            list.reserveCapacity(length)
            for _ in 0..<length { list.append(try integer()) }
            lists.append(list)
        }
        return lists
    }

    /// Reads a u32 element count and checks it against the bytes left.
    mutating func count(minimumBytesEach: Int) throws(WireError) -> Int {
        let count = Int(try integer() as UInt32)
        guard count <= remaining / max(minimumBytesEach, 1) else {
            throw WireError(.malformed, "a count of \(count) exceeds the \(remaining) bytes left")
        }
        return count
    }
}

extension ByteWriter {
    /// Writes lists of token ids as ``PayloadReader/tokenLists()`` reads them.
    mutating func append(tokenLists lists: [[Int32]]) {
        append(UInt32(lists.count))
        for list in lists {
            append(UInt32(list.count))
            for token in list { append(token) }
        }
    }
}
