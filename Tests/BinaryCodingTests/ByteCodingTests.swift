import BinaryCoding
import Foundation
import Testing

@Suite struct ByteCodingTests {
    @Test func integersAreWrittenLittleEndian() {
        var writer = ByteWriter()
        writer.append(UInt32(0x0403_0201))
        writer.append(Int16(-2))
        #expect(writer.bytes == [0x01, 0x02, 0x03, 0x04, 0xFE, 0xFF])
    }

    @Test func everyValueReadsBackAsWritten() throws {
        var writer = ByteWriter()
        writer.append(UInt64.max - 7)
        writer.append(Float(-1.5))
        writer.append(Double.pi)
        writer.append(true)
        writer.appendString("grüße", lengthType: UInt32.self)
        writer.append(floats: [1, -2, 0.25])
        var reader = ByteReader(Data(writer.bytes))
        #expect(try reader.read(UInt64.self) == UInt64.max - 7)
        #expect(try reader.readFloat() == -1.5)
        #expect(try reader.readDouble() == Double.pi)
        #expect(try reader.readBool())
        #expect(try reader.readString(lengthType: UInt32.self) == "grüße")
        #expect(try reader.readFloats(3) == [1, -2, 0.25])
        #expect(reader.isAtEnd)
    }

    @Test func readingPastTheEndThrowsAndNamesTheOffset() {
        var reader = ByteReader(Data([5, 2, 3]))
        #expect(throws: ByteReader.OutOfBounds.self) { try reader.read(UInt32.self) }
        #expect(reader.offset == 0, "a failed read must not move the offset")
        #expect(throws: ByteReader.OutOfBounds.self) { try reader.readString(lengthType: UInt8.self) }
    }

    @Test func paddingAndAlignmentAgree() throws {
        var writer = ByteWriter()
        writer.append(UInt8(7))
        writer.pad(toMultipleOf: 32)
        #expect(writer.count == 32)
        var reader = ByteReader(Data(writer.bytes))
        _ = try reader.read(UInt8.self)
        try reader.align(to: 32)
        #expect(reader.offset == 32)
    }
}
