import Foundation
import GGUF

/// Model files that load but make ggml abort, for testing how a crashing model is reported.
public enum BrokenModels {
    /// Copies the GGUF at `source` to `destination` with every F32 tensor (or only those named
    /// in `tensors`) stored as F16: embeddings, norms and biases included. ggml adds some of
    /// those to F32 activations and aborts at the first decode
    /// (`binary_op: unsupported types: dst: f32, src0: f32, src1: f16`).
    public static func writeAllF16(from source: URL, to destination: URL, tensors: Set<String>? = nil) throws {
        let file = try GGUFFile(contentsOf: source)
        var writer = GGUFWriter(alignment: file.alignment)
        for (key, value) in file.metadata where key != "general.alignment" { writer.set(key, value) }
        for tensor in file.tensors {
            var data = try file.bytes(of: tensor)
            var type = tensor.type
            if tensors?.contains(tensor.name) ?? true, tensor.type == .f32 {
                let floats = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
                data = Float16Conversion.halfData(floats)
                type = .f16
            }
            try writer.addTensor(name: tensor.name, dimensions: tensor.dimensions, type: type, data: data)
        }
        try writer.write(to: destination)
    }
}
