import BinaryCoding
import Foundation

/// A parsed `.safetensors` file: an 8-byte header length, a JSON header, then the tensor bytes.
public struct SafetensorsFile: Sendable {
    /// One tensor's entry in the header.
    public struct Tensor: Sendable, Equatable {
        /// The name, e.g. `encoder.layer.0.attention.self.query.weight`.
        public let name: String
        /// The element type as written in the file (`F32`, `F16`, `BF16`, `I64`, ...).
        public let dtype: String
        /// Row-major shape, outermost first (PyTorch order).
        public let shape: [Int]
        /// Byte range within the data section.
        public let range: Range<Int>
    }

    /// The tensors, sorted by name.
    public let tensors: [Tensor]
    /// The `__metadata__` entries.
    public let metadata: [String: String]
    private let data: Data
    private let dataStart: Int

    private static let elementSizes = ["F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1]

    /// Opens and parses the file at `url` (memory-mapped).
    /// - Throws: ``GGUFError`` with code `.io`, `.truncated` or `.corrupt`.
    public init(contentsOf url: URL) throws(GGUFError) {
        let name = url.lastPathComponent
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw GGUFError(.io, "cannot read \(url.path): \(error.localizedDescription)")
        }
        var reader = ByteReader(data)
        guard let headerLength = try? reader.read(UInt64.self), headerLength <= UInt64(reader.remaining) else {
            throw GGUFError(.truncated, "\(name) is truncated: its header is incomplete")
        }
        let headerBytes = data.subdata(in: (data.startIndex + 8)..<(data.startIndex + 8 + Int(headerLength)))
        guard let header = try? JSONSerialization.jsonObject(with: headerBytes) as? [String: Any] else {
            throw GGUFError(.corrupt, "\(name) has a header that is not a JSON object")
        }
        let dataStart = 8 + Int(headerLength)
        let dataSize = data.count - dataStart
        var tensors: [Tensor] = []
        var metadata: [String: String] = [:]
        for (key, value) in header {
            if key == "__metadata__" {
                for (k, v) in value as? [String: Any] ?? [:] { metadata[k] = "\(v)" }
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                let shape = (entry["shape"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                let offsets = (entry["data_offsets"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                offsets.count == 2
            else {
                throw GGUFError(.corrupt, "\(name): tensor \(key) has an incomplete header entry")
            }
            guard offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataSize else {
                throw GGUFError(.truncated, "\(name): tensor \(key) lies outside the file (bytes \(offsets[0])..<\(offsets[1]) of \(dataSize))")
            }
            if let size = Self.elementSizes[dtype], shape.reduce(1, *) * size != offsets[1] - offsets[0] {
                throw GGUFError(.corrupt, "\(name): tensor \(key) has \(offsets[1] - offsets[0]) bytes for shape \(shape) of \(dtype)")
            }
            tensors.append(Tensor(name: key, dtype: dtype, shape: shape, range: offsets[0]..<offsets[1]))
        }
        self.tensors = tensors.sorted { $0.name < $1.name }
        self.metadata = metadata
        self.data = data
        self.dataStart = dataStart
    }

    /// The tensor named `name`, if present.
    public func tensor(named name: String) -> Tensor? { tensors.first { $0.name == name } }

    /// The raw bytes of a tensor.
    public func bytes(of tensor: Tensor) -> Data {
        let start = data.startIndex + dataStart
        return data.subdata(in: (start + tensor.range.lowerBound)..<(start + tensor.range.upperBound))
    }

    /// The tensor's elements as Float32.
    /// - Throws: ``GGUFError`` with code `.invalidModel` for a non-float dtype.
    public func floats(of tensor: Tensor) throws(GGUFError) -> [Float] {
        guard ["F32", "F16", "BF16", "F64"].contains(tensor.dtype) else {
            throw GGUFError(.invalidModel, "tensor \(tensor.name) has dtype \(tensor.dtype), not a float type")
        }
        return bytes(of: tensor).withUnsafeBytes { (buffer: UnsafeRawBufferPointer) -> [Float] in
            switch tensor.dtype {
            case "F32":
                return (0..<(buffer.count / 4)).map {
                    Float(bitPattern: UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
                }
            case "F16":
                return (0..<(buffer.count / 2)).map {
                    Float16Conversion.float(fromHalfBits: UInt16(littleEndian: buffer.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)))
                }
            case "BF16":
                return (0..<(buffer.count / 2)).map {
                    Float(bitPattern: UInt32(UInt16(littleEndian: buffer.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))) << 16)
                }
            default:
                return (0..<(buffer.count / 8)).map {
                    Float(Double(bitPattern: UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self))))
                }
            }
        }
    }
}
