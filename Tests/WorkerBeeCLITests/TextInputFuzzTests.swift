import Foundation
import Testing
import WorkerBeeTestSupport

@testable import WorkerBeeCLI
import WorkerBeeFixtures

/// Seeded mutated input lines for `workerbee embed`'s reader: every line is a text, a blank,
/// or a ``TextInput/BadLine`` naming its line; never a crash.
@Suite struct TextInputFuzzTests {
    static var count: Int { ProcessInfo.processInfo.environment["WORKERBEE_FUZZ_COUNT"].flatMap(Int.init) ?? 20_000 }

    static let seeds: [String] = [
        #""a plain text""#, #"{"id": 7, "text": "an object"}"#, #""escapes \n \t \u00e9 \ud83d\udc1d""#,
        #"{"text": "nested", "meta": {"a": [1, 2, {"b": null}]}}"#, #""""#, #"{"text": ""}"#,
    ]

    @Test func mutatedLinesAreTextsBlanksOrBadLinesNeverACrash() {
        var generator = TinyModels.SeededGenerator(seed: 21)
        var texts = 0
        var bad = 0
        for round in 0..<Self.count {
            var bytes = Array(Self.seeds[round % Self.seeds.count].utf8)
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                switch Int.random(in: 0..<3, using: &generator) {
                case 0 where !bytes.isEmpty: bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                case 1 where !bytes.isEmpty: bytes.remove(at: Int.random(in: 0..<bytes.count, using: &generator))
                default: bytes.insert(UInt8.random(in: 0...255, using: &generator), at: Int.random(in: 0...bytes.count, using: &generator))
                }
            }
            let format: TextInput.Format = round % 7 == 0 ? .lines : .json
            do {
                if try TextInput.parse(LineReader.Line(number: round + 1, bytes: bytes), format: format, textField: "text", source: "fuzz") != nil { texts += 1 }
            } catch let error as TextInput.BadLine {
                bad += 1
                #expect(error.line == round + 1)
            } catch {
                Issue.record("unexpected error type: \(error)")
            }
        }
        #expect(texts > 0 && bad > 0, "texts \(texts), bad lines \(bad)")
    }
}
