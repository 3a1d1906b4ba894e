import Foundation
import GGUF
import WorkerBeeEngine
import WorkerBeeFixtures

/// Chooses the weight type for a converted model on this CPU: converts to F32, F16 and BF16,
/// times each on a short probe (one thread, as a pool worker runs; rounds interleaved; medians)
/// and keeps the fastest whose vectors stay at cosine >= ``minimumCosine`` against F32's.
/// Which is fastest depends on the CPU: BF16 wins where it has AVX-512 BF16, F32 or F16 elsewhere.
enum WeightTypeProbe {
    static let minimumCosine = 0.9999

    /// One type's figures.
    struct Measurement {
        let type: SentenceTransformersConverter.OutputType
        let textsPerSecond: Double
        /// The lowest cosine similarity of its vectors to F32's over the probe texts.
        let worstCosine: Double
        /// The converted file (in the scratch folder) and its conversion report.
        let file: URL
        let report: SentenceTransformersConverter.Report
    }

    /// Converts `directory` to each type in `scratch`, measures them, and returns the
    /// measurements (F32 first) and the chosen one.
    static func choose(directory: URL, scratch: URL, name: String) throws -> (chosen: Measurement, measurements: [Measurement]) {
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let types: [SentenceTransformersConverter.OutputType] = [.f32, .f16, .bf16]
        var models: [EmbeddingModel] = []
        var files: [(URL, SentenceTransformersConverter.Report)] = []
        for type in types {
            let file = scratch.appendingPathComponent("\(name)-\(type.rawValue).gguf")
            files.append((file, try SentenceTransformersConverter.convert(directory: directory, to: file, type: type, name: name)))
            models.append(try EmbeddingModel(url: file, options: .init(threads: 1)))
        }
        let texts = BenchCorpus.texts(.chunks, count: 12)
        var reference: [[Float]] = []
        var worst = [Double](repeating: 1, count: types.count)
        for (index, model) in models.enumerated() {
            let vectors = try model.embed(texts).vectors
            if index == 0 { reference = vectors }
            worst[index] = zip(vectors, reference).map { Double(cosineSimilarity($0, $1)) }.min() ?? 0
        }
        var seconds = [[Double]](repeating: [], count: types.count)
        let clock = ContinuousClock()
        for _ in 0..<3 {
            for (index, model) in models.enumerated() {
                let start = clock.now
                _ = try model.embed(texts)
                seconds[index].append((clock.now - start).seconds)
            }
        }
        let measurements = types.indices.map { index in
            Measurement(type: types[index], textsPerSecond: Double(texts.count) / seconds[index].sorted()[1], worstCosine: worst[index],
                        file: files[index].0, report: files[index].1)
        }
        let faithful = measurements.filter { $0.worstCosine >= minimumCosine }
        // F32 is its own reference, so there is always a faithful one.
        let chosen = faithful.max { $0.textsPerSecond < $1.textsPerSecond } ?? measurements[0]
        return (chosen, measurements)
    }

    /// What `--type auto` prints about its choice.
    static func report(_ measurements: [Measurement], chosen: SentenceTransformersConverter.OutputType) -> String {
        var lines = ["weight types measured on this CPU (one thread, \(12) chunks, median of 3):"]
        for measurement in measurements {
            lines.append(String(format: "  %@  %6.1f chunks/s  cosine to F32 >= %.6f%@", measurement.type.rawValue.uppercased(), measurement.textsPerSecond, measurement.worstCosine,
                                measurement.type == chosen ? "  <- chosen" : measurement.worstCosine < minimumCosine ? "  (not faithful enough)" : ""))
        }
        return lines.joined(separator: "\n")
    }
}
