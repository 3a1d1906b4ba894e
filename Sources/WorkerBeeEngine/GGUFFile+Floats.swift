internal import CLlama
import GGUF

extension GGUFFile {
    /// A tensor's values as floats, converted with ggml's own conversion for its type (any type
    /// ggml can convert, quantized ones included); nil when ggml cannot convert it.
    func floats(of tensor: GGUFTensorInfo) -> [Float]? {
        guard let data = try? bytes(of: tensor) else { return nil }
        if tensor.type == .f32 { return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) } }
        guard let toFloat = ggml_get_type_traits(ggml_type(rawValue: tensor.type.rawValue))?.pointee.to_float else { return nil }
        var values = [Float](repeating: 0, count: tensor.elementCount)
        data.withUnsafeBytes { raw in
            values.withUnsafeMutableBufferPointer { toFloat(raw.baseAddress!, $0.baseAddress!, Int64(tensor.elementCount)) }
        }
        return values
    }
}
