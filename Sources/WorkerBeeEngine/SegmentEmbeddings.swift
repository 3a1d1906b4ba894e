internal import CLlama
import Foundation
import GGUF

/// Input rows for a BERT model whose tokens belong to two segments (a query and a document).
///
/// llama.cpp's BERT graph adds token type 0 ("sentence A") to every token, while a BERT
/// cross-encoder was trained with type 1 on the document segment. llama.cpp batches also accept
/// input embeddings instead of token ids, and the graph then adds type 0 and the position to
/// those rows as it does to looked-up ones. So a row is made here as the token's embedding plus
/// (type t - type 0), read from the model file (mapped, so only the rows used are paged in) and
/// converted to floats with ggml's own conversion for the tensor's type: the graph then computes
/// token + type t + position, as the original model does.
struct SegmentEmbeddings {
    /// Length of each row.
    let width: Int
    private let file: GGUFFile
    private let tokenTable: GGUFTensorInfo
    private let rowBytes: Int
    private let toFloat: ggml_to_float_t?
    /// Per segment type: type t's row minus type 0's.
    private let typeOffsets: [[Float]]

    /// Reads the tables of the model in `file` (mapped, so only the token rows used are paged
    /// in), or nil when the model has fewer than two token types or its tables are not where a
    /// BERT GGUF keeps them.
    init?(file: GGUFFile) {
        guard let tokens = file.tensor(named: "token_embd.weight"), tokens.dimensions.count == 2,
            let types = file.tensor(named: "token_types.weight"), types.dimensions.count == 2,
            types.dimensions[1] >= 2, types.dimensions[0] == tokens.dimensions[0],
            let typeRows = file.floats(of: types)
        else { return nil }
        let width = tokens.dimensions[0]
        let type = ggml_type(rawValue: tokens.type.rawValue)
        guard let traits = ggml_get_type_traits(type), tokens.type == .f32 || traits.pointee.to_float != nil else { return nil }
        self.width = width
        self.file = file
        self.tokenTable = tokens
        self.rowBytes = ggml_row_size(type, Int64(width))
        self.toFloat = tokens.type == .f32 ? nil : traits.pointee.to_float
        self.typeOffsets = (0..<types.dimensions[1]).map { t in
            (0..<width).map { typeRows[t * width + $0] - typeRows[$0] }
        }
    }

    /// The number of segment types the model knows.
    var typeCount: Int { typeOffsets.count }

    /// Writes the input row of `token` in segment `type` to `row` (`width` floats).
    func write(token: Int32, type: Int, to row: UnsafeMutablePointer<Float>) {
        file.data.withUnsafeBytes { raw in
            let source = raw.baseAddress! + file.dataOffset + tokenTable.offset + Int(token) * rowBytes
            if let toFloat {
                toFloat(source, row, Int64(width))
            } else {
                row.update(from: source.assumingMemoryBound(to: Float.self), count: width)
            }
        }
        guard type > 0 else { return }
        typeOffsets[min(type, typeOffsets.count - 1)].withUnsafeBufferPointer { offset in
            for d in 0..<width { row[d] += offset[d] }
        }
    }
}
