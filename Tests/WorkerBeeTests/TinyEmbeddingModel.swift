import Foundation
import GGUF
import Synchronization
import Testing
import WorkerBeeTestSupport
import WorkerBee
import WorkerBeeWire
import WorkerBeeFixtures

/// A generated tiny BERT model (32 floats per vector), so that huge calls stay fast.
struct TinyEmbeddingModel {
    let sandbox: WorkerSandbox
    let url: URL

    init() throws {
        sandbox = try WorkerSandbox()
        let source = sandbox.directory.appendingPathComponent("tiny-bert")
        try TinyModels.writeSentenceTransformersBERT(to: source)
        url = sandbox.directory.appendingPathComponent("tiny-bert.gguf")
        try SentenceTransformersConverter.convert(directory: source, to: url)
    }

    func configuration(fault: String? = nil, once: Bool = false, embedTimeout: Duration? = .seconds(120)) -> WorkerConfiguration {
        var configuration = sandbox.configuration(fault: fault, once: once, embedTimeout: embedTimeout)
        configuration.models.embedding = .file(url)
        return configuration
    }

    /// Distinct texts from the tiny vocabulary: text i spells i in base 19 with its words.
    static func texts(_ count: Int) -> [String] {
        let words = ["hello", "world", "worker", "bee", "the", "a", "text", "vector", "embed", "hellos", "texting",
                     "bees", "workers", "vectors", ".", ",", "!", "?", "embedding"]
        return (0..<count).map { index in
            var value = index
            var parts: [String] = []
            repeat {
                parts.append(words[value % words.count])
                value /= words.count
            } while value > 0
            return parts.joined(separator: " ")
        }
    }
}
