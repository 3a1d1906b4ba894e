import Testing
import WorkerBeeTestSupport

@testable import WorkerBeeWire

@Suite struct FrameDecoderTests {
    let frame = Frame(kind: 0x82, requestID: 0x0102_0304_0506_0708, payload: [1, 2, 3])

    @Test func encodedFrameIsLengthKindIdPayloadLittleEndian() {
        #expect(frame.encoded() == [12, 0, 0, 0, 0x82, 8, 7, 6, 5, 4, 3, 2, 1, 1, 2, 3])
    }

    @Test func frameArrivingByteByByteDecodesOnce() throws {
        var decoder = FrameDecoder()
        var decoded: [Frame] = []
        for byte in frame.encoded() {
            decoder.append([byte])
            while let next = try decoder.next() { decoded.append(next) }
        }
        #expect(decoded == [frame])
        try decoder.finish()
    }

    @Test func severalFramesInOneChunkDecodeInOrder() throws {
        var decoder = FrameDecoder()
        let second = Frame(kind: 0x84, requestID: 9, payload: [])
        decoder.append(frame.encoded() + second.encoded())
        #expect(try decoder.next() == frame)
        #expect(try decoder.next() == second)
        #expect(try decoder.next() == nil)
    }

    @Test func lengthAboveTheCapIsRejected() {
        var decoder = FrameDecoder(maximumLength: 1024)
        decoder.append([0x01, 0x04, 0, 0, 0x82])
        #expect(throws: WireError(.badLength, "frame length 1025 is outside 9...1024")) { try decoder.next() }
    }

    @Test func aFrameThatFillsTheBufferIsHandedOverWhole() throws {
        let big = Frame(kind: 0x82, requestID: 3, payload: (0..<100_000).map { UInt8(truncatingIfNeeded: $0) })
        var decoder = FrameDecoder()
        let bytes = big.encoded()
        bytes.withUnsafeBytes { decoder.append(UnsafeRawBufferPointer(rebasing: $0[0..<50_000])) }
        #expect(try decoder.next() == nil)
        bytes.withUnsafeBytes { decoder.append(UnsafeRawBufferPointer(rebasing: $0[50_000...])) }
        #expect(try decoder.next() == big)
        #expect(decoder.bufferedByteCount == 0)
        #expect(try decoder.next() == nil)
    }

    @Test func lengthBelowTheHeaderIsRejected() {
        var decoder = FrameDecoder()
        decoder.append([3, 0, 0, 0, 0x82, 0, 0])
        do {
            _ = try decoder.next()
            Issue.record("a 3-byte frame decoded")
        } catch {
            #expect(error.code == .badLength)
        }
    }

    @Test func streamEndingMidFrameIsTruncated() {
        var decoder = FrameDecoder()
        decoder.append(frame.encoded().dropLast())
        #expect((try? decoder.next()) == nil)
        do {
            try decoder.finish()
            Issue.record("a partial frame was accepted at end of stream")
        } catch {
            #expect(error.code == .truncated)
        }
    }

    @Test func textThatIsNotAFrameIsRejected() {
        var decoder = FrameDecoder()
        decoder.append(Array("this is not a frame\n".utf8))
        do {
            _ = try decoder.next()
            Issue.record("text decoded as a frame")
        } catch {
            // "this" read as a little-endian length is 0x73696874, far above the cap.
            #expect(error.code == .badLength)
        }
    }
}
