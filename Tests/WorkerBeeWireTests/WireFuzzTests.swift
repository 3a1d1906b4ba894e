import Foundation
import Testing
import WorkerBeeTestSupport

@testable import WorkerBeeWire
import WorkerBeeFixtures

/// Seeded random and mutated input for the wire decoder: it must turn every input into frames
/// and messages or a ``WireError``, never crash. `WORKERBEE_FUZZ_COUNT` raises the count
/// (`scripts/fuzz` runs a million).
@Suite struct WireFuzzTests {
    static var count: Int { ProcessInfo.processInfo.environment["WORKERBEE_FUZZ_COUNT"].flatMap(Int.init) ?? 20_000 }

    static let seeds: [[UInt8]] = [
        WorkerResponse.embeddings(EmbedResult(dimension: 3, values: [1, 2, 3, 4, 5, 6], tokenCounts: [4, 5], truncated: [false, true])).frame(requestID: 7).encoded(),
        WorkerResponse.hello(WorkerHello(pid: 12, buildInfo: "CPU : AVX2 = 1")).frame(requestID: 0).encoded(),
        WorkerResponse.failure(WorkerFailure(code: .modelNotFound, message: "no such model")).frame(requestID: 3).encoded(),
        WorkerResponse.text(VisionResult(text: "page", promptTokens: 30, generatedTokens: 2)).frame(requestID: 9).encoded(),
        WorkerRequest.embed(EmbedRequest(model: "m", texts: ["a", "bc"])).frame(requestID: 4).encoded(),
        WorkerRequest.vision(VisionRequest(model: "v", image: [1, 2, 3], maxTokens: 5)).frame(requestID: 5).encoded(),
        WorkerRequest.loadModel(kind: .vision, model: "x").frame(requestID: 6).encoded(),
    ]

    /// Feeds `bytes` to a decoder in random-sized chunks and decodes every frame as a response
    /// and as a request. Returns how many frames decoded and whether a WireError stopped it.
    static func feed(_ bytes: [UInt8], using generator: inout TinyModels.SeededGenerator) -> (frames: Int, refused: Bool) {
        var decoder = FrameDecoder(maximumLength: 1 << 20)
        var frames = 0
        var offset = 0
        do {
            while offset < bytes.count {
                let step = Int.random(in: 1...max(1, bytes.count - offset), using: &generator)
                decoder.append(bytes[offset..<(offset + step)])
                offset += step
                while let frame = try decoder.next() {
                    frames += 1
                    _ = try? WorkerResponse(frame: frame)
                    _ = try? WorkerRequest(frame: frame)
                }
            }
            try decoder.finish()
            return (frames, false)
        } catch {
            return (frames, true)
        }
    }

    @Test func randomBytesAreFramesOrAWireErrorNeverACrash() {
        var generator = TinyModels.SeededGenerator(seed: 11)
        var refused = 0
        for _ in 0..<Self.count {
            let length = Int.random(in: 0...64, using: &generator)
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if Self.feed(bytes, using: &generator).refused { refused += 1 }
        }
        // Most random headers announce absurd lengths: the decoder must have refused them.
        #expect(refused > Self.count / 2, "refused \(refused) of \(Self.count)")
    }

    @Test func mutatedFramesAreFramesOrAWireErrorNeverACrash() throws {
        var generator = TinyModels.SeededGenerator(seed: 12)
        var decodedMessages = 0
        var refused = 0
        for round in 0..<Self.count {
            var bytes = Self.seeds[round % Self.seeds.count]
            switch Int.random(in: 0..<4, using: &generator) {
            case 0:  // flip some bytes
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
            case 1:  // cut it short
                bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &generator)))
            case 2:  // add junk after it
                bytes += (0..<Int.random(in: 1...16, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            default:  // change a payload byte but keep the framing
                if bytes.count > 13 { bytes[Int.random(in: 13..<bytes.count, using: &generator)] ^= 0xFF }
            }
            var decoder = FrameDecoder(maximumLength: 1 << 20)
            decoder.append(bytes)
            do {
                while let frame = try decoder.next() {
                    if (try? WorkerResponse(frame: frame)) != nil || (try? WorkerRequest(frame: frame)) != nil { decodedMessages += 1 }
                }
                try decoder.finish()
            } catch {
                refused += 1
            }
        }
        #expect(decodedMessages > 0 && refused > 0, "decoded \(decodedMessages), refused \(refused)")
    }

    @Test func aValidStreamDecodesTheSameHoweverItIsChunked() throws {
        var generator = TinyModels.SeededGenerator(seed: 13)
        let stream = Self.seeds.flatMap { $0 }
        for _ in 0..<200 {
            let result = Self.feed(stream, using: &generator)
            #expect(result.frames == Self.seeds.count && !result.refused)
        }
    }
}
