internal import CLlama
import Foundation
import GGUF

/// A BERT-style reranker's head, computed here from the [CLS] row: BERT's pooler (`cls`, then
/// tanh) when the model has one, then the classifier (`cls.output`) when it has one, as
/// llama.cpp's rank pooling computes it.
///
/// llama.cpp computes the head as a matrix product over all the sequences of a micro-batch, and
/// its CPU kernels choose how to sum by the number of rows (a one-row product is summed another
/// way than a tiled one), so a pair's score would depend on how many pairs share its micro-batch.
/// Here each pair's head is summed on its own in a fixed order: same pair, same score, bit for
/// bit, however the pairs were batched (as for embeddings, see ``EmbeddingModel``).
struct RankHead {
    /// One dense layer: `outputs` rows of `inputs` weights, and a bias per output (or none).
    struct Layer {
        let inputs: Int
        let outputs: Int
        let weights: [Float]
        let bias: [Float]?

        /// `outputs` values from `inputs` values: bias + weights · x, summed 8 lanes at a time in
        /// a fixed order.
        func apply(_ x: UnsafePointer<Float>, to y: UnsafeMutablePointer<Float>) {
            weights.withUnsafeBufferPointer { w in
                for row in 0..<outputs {
                    let base = w.baseAddress! + row * inputs
                    var lanes = SIMD8<Float>.zero
                    var i = 0
                    while i + 8 <= inputs {
                        let a = UnsafeRawPointer(base + i).loadUnaligned(as: SIMD8<Float>.self)
                        let b = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
                        lanes = lanes.addingProduct(a, b)
                        i += 8
                    }
                    var sum = lanes.sum()
                    while i < inputs {
                        sum += base[i] * x[i]
                        i += 1
                    }
                    y[row] = sum + (bias?[row] ?? 0)
                }
            }
        }
    }

    /// BERT's pooler: dense, then tanh.
    let pooler: Layer?
    /// The classifier.
    let classifier: Layer?

    /// Architectures whose rank head llama.cpp builds as pooler (tanh) then classifier on the
    /// first token's row (not ModernBERT, whose head differs, nor LLM rerankers).
    static let architectures: Set<String> = ["bert", "jina-bert-v2"]

    /// The number of scores per pair.
    var outputs: Int { classifier?.outputs ?? pooler?.outputs ?? 0 }

    /// Reads the head of the model in `file`, or nil when it has none this type computes.
    init?(file: GGUFFile, architecture: String, width: Int) {
        guard Self.architectures.contains(architecture) else { return nil }
        func layer(_ name: String) -> Layer?? {
            guard let info = file.tensor(named: name + ".weight") else { return .some(nil) }
            guard info.dimensions.count == 2, let weights = file.floats(of: info) else { return nil }
            let bias = file.tensor(named: name + ".bias").flatMap { file.floats(of: $0) }
            return Layer(inputs: info.dimensions[0], outputs: info.dimensions[1], weights: weights, bias: bias)
        }
        guard let pooler = layer("cls"), let classifier = layer("cls.output"), pooler != nil || classifier != nil else { return nil }
        if let pooler, pooler.inputs != width { return nil }
        if let classifier, classifier.inputs != (pooler?.outputs ?? width) { return nil }
        self.pooler = pooler
        self.classifier = classifier
    }

    /// The scores of one pair from its first token's row (`width` floats) into `scores`
    /// (``outputs`` floats).
    func scores(of row: UnsafePointer<Float>, into scores: UnsafeMutablePointer<Float>) {
        guard let pooler else {
            classifier!.apply(row, to: scores)
            return
        }
        var pooled = [Float](repeating: 0, count: pooler.outputs)
        pooled.withUnsafeMutableBufferPointer { out in
            pooler.apply(row, to: out.baseAddress!)
            for index in out.indices { out[index] = tanh(out[index]) }
        }
        pooled.withUnsafeBufferPointer { pooledRow in
            if let classifier {
                classifier.apply(pooledRow.baseAddress!, to: scores)
            } else {
                scores.update(from: pooledRow.baseAddress!, count: pooledRow.count)
            }
        }
    }
}

extension RankHead.Layer: Equatable {}
