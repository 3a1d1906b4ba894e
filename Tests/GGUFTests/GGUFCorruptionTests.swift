import BinaryCoding
import Foundation
import Testing
import WorkerBeeTestSupport

@testable import GGUF
import WorkerBeeFixtures

@Suite struct GGUFCorruptionTests {
    @Test func everyTruncationIsRejectedWithAnError() throws {
        let bytes = try sampleWriter().fileBytes()
        // Every prefix that cuts into the header or the tensor data must throw, never crash.
        var rejected = 0
        for length in 0..<bytes.count {
            switch Result(catching: { () throws(GGUFError) in try GGUFFile(data: Data(bytes.prefix(length))) }) {
            case .success(let file):
                // A prefix can only parse if it keeps every tensor's bytes (it only drops padding).
                #expect(length >= bytes.count - file.alignment)
            case .failure(let error):
                #expect([.truncated, .notGGUF, .corrupt].contains(error.code))
                rejected += 1
            }
        }
        #expect(rejected > bytes.count - 64)
    }

    @Test func badMagicIsNotGGUF() {
        do {
            _ = try GGUFFile(data: Data("PNG and more bytes".utf8))
            Issue.record("a non-GGUF file parsed")
        } catch {
            #expect(error.code == .notGGUF)
        }
    }

    @Test func unknownVersionIsRejected() throws {
        var bytes = Array(try sampleWriter().fileBytes())
        bytes[4] = 9
        do {
            _ = try GGUFFile(data: Data(bytes))
            Issue.record("version 9 parsed")
        } catch {
            #expect(error.code == .unsupportedVersion)
        }
    }

    @Test func absurdCountsAreRejectedBeforeAllocating() {
        var header = ByteWriter()
        header.append(contentsOf: GGUFFile.magic)
        header.append(UInt32(3))
        header.append(UInt64.max)  // tensors
        header.append(UInt64(1) << 40)  // keys
        do {
            _ = try GGUFFile(data: Data(header.bytes))
            Issue.record("absurd counts parsed")
        } catch {
            #expect(error.code == .corrupt)
        }
    }

    @Test func unknownValueTypeIsCorrupt() {
        var header = ByteWriter()
        header.append(contentsOf: GGUFFile.magic)
        header.append(UInt32(3))
        header.append(UInt64(0))
        header.append(UInt64(1))
        header.appendString("key", lengthType: UInt64.self)
        header.append(UInt32(99))
        header.append(UInt64(0))
        do {
            _ = try GGUFFile(data: Data(header.bytes))
            Issue.record("unknown value type parsed")
        } catch {
            #expect(error.code == .corrupt)
        }
    }

    @Test func hugeStringLengthIsTruncatedNotACrash() {
        var header = ByteWriter()
        header.append(contentsOf: GGUFFile.magic)
        header.append(UInt32(3))
        header.append(UInt64(0))
        header.append(UInt64(1))
        header.append(UInt64.max - 3)  // key length
        header.append(contentsOf: [UInt8](repeating: 0x41, count: 64))
        do {
            _ = try GGUFFile(data: Data(header.bytes))
            Issue.record("huge string parsed")
        } catch {
            #expect(error.code == .truncated)
        }
    }

    @Test func misalignedTensorOffsetIsCorrupt() throws {
        var writer = GGUFWriter()
        try writer.addTensor(name: "x", dimensions: [1], type: .f32, data: Data(count: 4))
        var bytes = Array(writer.fileBytes())
        // The tensor info's offset field follows the magic, version, counts, name, dims and type.
        let offsetPosition = 4 + 4 + 8 + 8 + (8 + 1) + 4 + 8 + 4
        bytes[offsetPosition] = 4
        do {
            _ = try GGUFFile(data: Data(bytes))
            Issue.record("misaligned offset parsed")
        } catch {
            #expect(error.code == .corrupt)
        }
    }

    @Test func overlappingTensorsAreCorrupt() throws {
        var writer = GGUFWriter()
        try writer.addTensor(name: "x", dimensions: [8], type: .f32, data: Data(count: 32))
        try writer.addTensor(name: "y", dimensions: [8], type: .f32, data: Data(count: 32))
        var bytes = Array(writer.fileBytes())
        // Second tensor info: its offset (32) sits after x's info; point it at 0.
        let xInfo = (8 + 1) + 4 + 8 + 4 + 8
        let yOffsetPosition = 4 + 4 + 8 + 8 + xInfo + (8 + 1) + 4 + 8 + 4
        #expect(bytes[yOffsetPosition] == 32)
        bytes[yOffsetPosition] = 0
        do {
            _ = try GGUFFile(data: Data(bytes))
            Issue.record("overlapping tensors parsed")
        } catch {
            #expect(error.code == .corrupt)
        }
    }

    @Test func randomCorruptionsEitherParseIntoInBoundsTensorsOrFailWithAGGUFError() throws {
        var generator = TinyModels.SeededGenerator(seed: 20261127)
        let valid = Array(try sampleWriter().fileBytes())
        var parsed = 0
        var refused = 0
        for _ in 0..<300 {
            var bytes = valid
            for _ in 0..<4 {
                let index = Int.random(in: 4..<bytes.count, using: &generator)
                bytes[index] = UInt8.random(in: 0...255, using: &generator)
            }
            let file: GGUFFile
            do {
                file = try GGUFFile(data: Data(bytes))
            } catch {
                refused += 1
                #expect(!error.message.isEmpty)
                continue
            }
            parsed += 1
            // Whatever the reader accepts must be safe to use: every tensor of a known type has its
            // bytes in the file; one of an unknown type (kept for its info) is refused, not read.
            for tensor in file.tensors {
                if let size = tensor.byteCount {
                    let data = try #require(try? file.bytes(of: tensor), "tensor \(tensor.name) of an accepted file is out of bounds")
                    #expect(data.count == size, "tensor \(tensor.name)")
                } else {
                    #expect(throws: GGUFError.self) { try file.bytes(of: tensor) }
                }
            }
        }
        // Both outcomes occur, so the loop exercises the checks rather than one path.
        #expect(parsed > 0 && refused > 0, "parsed \(parsed), refused \(refused)")
    }
}
