import ArgumentParser
import GGUF
import WorkerBeeFixtures

/// Deterministic English-like texts for benchmarks: one-sentence texts or ~150-word chunks.
enum BenchCorpus {
    enum Shape: String, CaseIterable, ExpressibleByArgument {
        case sentences, chunks
    }

    private static let words = """
        the a of and to in is for on with as by at from that this it be are was were an or which \
        model worker process text vector page image batch host library swift language memory system \
        local search index document library chunk token context network result value number time \
        first second large small fast slow simple complex native code crash signal request answer \
        file folder disk data table figure report section chapter author reader question method \
        water river mountain city country history science music painting garden kitchen morning \
        evening journey market village teacher student doctor engineer lawyer farmer artist writer
        """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)

    /// `count` texts of the given shape, the same for the same seed.
    static func texts(_ shape: Shape, count: Int, seed: UInt64 = 7) -> [String] {
        var generator = TinyModels.SeededGenerator(seed: seed)
        return (0..<count).map { _ in
            switch shape {
            case .sentences:
                return sentence(words: Int.random(in: 10...22, using: &generator), using: &generator)
            case .chunks:
                var text: [String] = []
                var total = 0
                while total < 150 {
                    let length = Int.random(in: 10...22, using: &generator)
                    text.append(sentence(words: length, using: &generator))
                    total += length
                }
                return text.joined(separator: " ")
            }
        }
    }

    private static func sentence(words count: Int, using generator: inout TinyModels.SeededGenerator) -> String {
        var sentence = (0..<count).map { _ in words.randomElement(using: &generator)! }.joined(separator: " ")
        sentence = sentence.prefix(1).uppercased() + sentence.dropFirst() + "."
        return sentence
    }
}
