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
        /// The lowest cosine similarity of its vectors to F32's over the probe texts (for a
        /// reranker, the lowest ``WeightTypeProbe/agreement(_:_:)`` of its scores).
        let worstCosine: Double
        /// Whether the model is a reranker (measured on pairs).
        let isReranker: Bool
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
        // A reranker is measured on (query, chunk) pairs, and its scores against F32's.
        let queries = BenchCorpus.texts(.sentences, count: texts.count)
        func run(_ model: EmbeddingModel) throws -> [[Float]] {
            try model.isReranker ? model.rerank(queries: queries, documents: texts).vectors : model.embed(texts).vectors
        }
        var reference: [[Float]] = []
        var worst = [Double](repeating: 1, count: types.count)
        for (index, model) in models.enumerated() {
            let vectors = try run(model)
            if index == 0 { reference = vectors }
            worst[index] = zip(vectors, reference).map { model.isReranker ? agreement($0, $1) : Double(cosineSimilarity($0, $1)) }.min() ?? 0
        }
        var seconds = [[Double]](repeating: [], count: types.count)
        let clock = ContinuousClock()
        for _ in 0..<3 {
            for (index, model) in models.enumerated() {
                let start = clock.now
                _ = try run(model)
                seconds[index].append((clock.now - start).seconds)
            }
        }
        let measurements = types.indices.map { index in
            Measurement(type: types[index], textsPerSecond: Double(texts.count) / seconds[index].sorted()[1], worstCosine: worst[index],
                        isReranker: models[index].isReranker, file: files[index].0, report: files[index].1)
        }
        let faithful = measurements.filter { $0.worstCosine >= minimumCosine }
        // F32 is its own reference, so there is always a faithful one.
        let chosen = faithful.max { $0.textsPerSecond < $1.textsPerSecond } ?? measurements[0]
        return (chosen, measurements)
    }

    /// How close a reranker's scores are to the reference's: 1 minus the largest error relative
    /// to the reference logit (or to 1 for logits under 1), so that the same bound as for
    /// vectors keeps scores within 1e-4 of F32's.
    static func agreement(_ scores: [Float], _ reference: [Float]) -> Double {
        1 - zip(scores, reference).map { Double(abs($0 - $1)) / max(1, Double(abs($1))) }.max()!
    }

    /// What `--type auto` prints about its choice.
    static func report(_ measurements: [Measurement], chosen: SentenceTransformersConverter.OutputType) -> String {
        let pairs = measurements.first?.isReranker == true
        var lines = ["weight types measured on this CPU (one thread, \(12) \(pairs ? "query-chunk pairs" : "chunks"), median of 3):"]
        for measurement in measurements {
            lines.append(String(format: "  %@  %6.1f %@/s  %@ to F32 >= %.6f%@", measurement.type.rawValue.uppercased(), measurement.textsPerSecond, pairs ? "pairs" : "chunks",
                                pairs ? "score agreement" : "cosine", measurement.worstCosine,
                                measurement.type == chosen ? "  <- chosen" : measurement.worstCosine < minimumCosine ? "  (not faithful enough)" : ""))
        }
        return lines.joined(separator: "\n")
    }
}
