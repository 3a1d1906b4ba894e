internal import CLlama
import Foundation
import WorkerBeeWire

/// How the model runs its sequences: packed into micro-batches, one llama.cpp call each, and
/// their rows pooled (by llama.cpp, by mean pooling here, or through a reranker's head here).
extension EmbeddingModel {
    /// Runs the sequences in micro-batches, longest first, and returns their pooled rows in
    /// input order (`dimension` floats each). `types` gives each token's segment type.
    func runPacked(_ tokenized: [[llama_token]], types: [[UInt8]]?, abort: AbortSignal?) throws(EngineError) -> [Float] {
        var values = [Float](repeating: 0, count: tokenized.count * dimension)
        decodesInCall = 0
        let order = tokenized.indices.sorted { tokenized[$0].count > tokenized[$1].count }
        // Batch-invariant packing: a text that would take the tiled attention kernel runs alone;
        // shorter texts share micro-batches that stay below it (see the type's documentation).
        let packLimit = packsUnderTiledAttention ? min(batchTokens, Self.tiledAttentionRows - 1) : batchTokens
        var pack: [Int] = []
        var packTokens = 0
        for index in order {
            let count = tokenized[index].count
            let alone = packsUnderTiledAttention && count >= Self.tiledAttentionRows
            if !pack.isEmpty && (alone || packTokens + count > packLimit || pack.count == maxSequences) {
                try run(pack, tokenized, types: types, into: &values, abort: abort)
                pack.removeAll(keepingCapacity: true)
                packTokens = 0
            }
            pack.append(index)
            packTokens += count
            if alone {
                try run(pack, tokenized, types: types, into: &values, abort: abort)
                pack.removeAll(keepingCapacity: true)
                packTokens = 0
            }
        }
        if !pack.isEmpty { try run(pack, tokenized, types: types, into: &values, abort: abort) }
        return values
    }

    func run(_ pack: [Int], _ tokenized: [[llama_token]], types: [[UInt8]]?, into values: inout [Float], abort: AbortSignal?) throws(EngineError) {
        if let abort {
            if abort.isRaised { throw EngineError(.cancelled, "cancelled") }
            abort.install(on: context)
        }
        defer { llama_set_abort_callback(context, nil, nil) }
        // Segment types need input rows (see SegmentEmbeddings); otherwise token ids go in.
        let rows = types != nil ? segments : nil
        var batch = rows != nil ? segmentBatch! : self.batch
        var n = 0
        for (sequence, index) in pack.enumerated() {
            for (position, token) in tokenized[index].enumerated() {
                if let rows, let types {
                    rows.write(token: token, type: Int(types[index][position]), to: batch.embd + n * rows.width)
                } else {
                    batch.token[n] = token
                }
                batch.pos[n] = llama_pos(position)
                batch.n_seq_id[n] = 1
                batch.seq_id[n]![0] = llama_seq_id(sequence)
                batch.logits[n] = 1
                n += 1
            }
        }
        batch.n_tokens = Int32(n)
        beforeDecode?(decodesInCall)
        decodesInCall += 1
        let status: Int32
        if usesMemory {
            llama_memory_clear(llama_get_memory(context), true)
            status = llama_decode(context, batch)
        } else {
            status = llama_encode(context, batch)
        }
        lastDecodeStatus = status
        if abort?.isRaised == true { throw EngineError(.cancelled, "cancelled") }
        guard status == 0 else {
            throw EngineError(.inferenceFailed, "llama.cpp failed to run a batch of \(n) tokens in \(pack.count) texts (status \(status))")
        }
        if poolsHere { return try meanPool(pack, tokenized, into: &values) }
        if let rankHead { return try scoreFirstRows(pack, tokenized, head: rankHead, into: &values) }
        for (sequence, index) in pack.enumerated() {
            guard let embedding = llama_get_embeddings_seq(context, llama_seq_id(sequence)) else {
                throw EngineError(.inferenceFailed, "llama.cpp returned no pooled embedding for a sequence")
            }
            if scoresAreYesNoProbabilities {
                values[index] = Self.logit(yes: embedding[0], no: embedding[1])
                continue
            }
            values.withUnsafeMutableBufferPointer { out in
                (out.baseAddress! + index * dimension).update(from: embedding, count: dimension)
            }
        }
    }

    /// Each pair's scores from its first token's row through the model's head, computed on
    /// its own (see ``RankHead``).
    func scoreFirstRows(_ pack: [Int], _ tokenized: [[llama_token]], head: RankHead, into values: inout [Float]) throws(EngineError) {
        var row = 0
        for index in pack {
            guard let first = llama_get_embeddings_ith(context, Int32(row)) else {
                throw EngineError(.inferenceFailed, "llama.cpp returned no embedding for token row \(row)")
            }
            values.withUnsafeMutableBufferPointer { out in head.scores(of: first, into: out.baseAddress! + index * dimension) }
            row += tokenized[index].count
        }
    }

    /// Each text's vector as the mean of its own token rows, summed in token order, so that it
    /// does not depend on where the text sat in the micro-batch.
    func meanPool(_ pack: [Int], _ tokenized: [[llama_token]], into values: inout [Float]) throws(EngineError) {
        var row = 0
        for index in pack {
            let count = tokenized[index].count
            var sum = [Float](repeating: 0, count: dimension)
            for _ in 0..<count {
                guard let token = llama_get_embeddings_ith(context, Int32(row)) else {
                    throw EngineError(.inferenceFailed, "llama.cpp returned no embedding for token row \(row)")
                }
                for d in 0..<dimension { sum[d] += token[d] }
                row += 1
            }
            let scale = 1 / Float(count)
            let base = index * dimension
            for d in 0..<dimension { values[base + d] = sum[d] * scale }
        }
    }
}
