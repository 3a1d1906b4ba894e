import BinaryCoding
import Foundation

/// Constants of the host-worker protocol.
public enum WireProtocol {
    /// The version both sides must speak; the host refuses a worker whose hello differs.
    public static let version: UInt32 = 1
}

/// Reads a message payload and turns any overrun or leftover into a ``WireError``.
struct PayloadReader {
    private var reader: ByteReader

    static func decode<T>(_ frame: Frame, _ body: (inout PayloadReader) throws(WireError) -> T) throws(WireError) -> T {
        var payload = PayloadReader(reader: ByteReader(Data(frame.payload)))
        let value = try body(&payload)
        guard payload.reader.isAtEnd else {
            throw WireError(.malformed, "message 0x\(String(frame.kind, radix: 16)) has \(payload.reader.remaining) unexpected trailing bytes")
        }
        return value
    }

    var remaining: Int { reader.remaining }

    mutating func integer<T: FixedWidthInteger>() throws(WireError) -> T {
        do { return try reader.read(T.self) } catch { throw Self.truncated(error) }
    }

    mutating func bool() throws(WireError) -> Bool {
        let byte: UInt8 = try integer()
        guard byte <= 1 else { throw WireError(.malformed, "boolean byte \(byte)") }
        return byte == 1
    }

    mutating func string() throws(WireError) -> String {
        do { return try reader.readString(lengthType: UInt32.self) } catch { throw Self.truncated(error) }
    }

    mutating func bytes(_ count: Int) throws(WireError) -> [UInt8] {
        do { return Array(try reader.readBytes(count)) } catch { throw Self.truncated(error) }
    }

    mutating func floats(_ count: Int) throws(WireError) -> [Float] {
        do { return try reader.readFloats(count) } catch { throw Self.truncated(error) }
    }

    /// Reads a u32 element count and checks it against the bytes left.
    mutating func count(minimumBytesEach: Int) throws(WireError) -> Int {
        let count = Int(try integer() as UInt32)
        guard count <= reader.remaining / max(minimumBytesEach, 1) else {
            throw WireError(.malformed, "a count of \(count) exceeds the \(reader.remaining) bytes left")
        }
        return count
    }

    private static func truncated(_ error: ByteReader.OutOfBounds) -> WireError {
        WireError(.malformed, "payload too short: \(error)")
    }
}
