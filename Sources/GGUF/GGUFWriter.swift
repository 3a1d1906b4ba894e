import BinaryCoding
import Foundation

/// Builds a GGUF (version 3) file from metadata and tensors.
///
/// ```swift
/// var writer = GGUFWriter()
/// writer.set("general.architecture", .string("bert"))
/// try writer.addTensor(name: "token_embd.weight", dimensions: [384, 30522], type: .f16, data: bytes)
/// try writer.write(to: url)
/// ```
public struct GGUFWriter: Sendable {
    /// One tensor waiting to be written.
    public struct PendingTensor: Sendable {
        public let name: String
        public let dimensions: [Int]
        public let type: GGMLType
        public let data: Data
    }

    /// Metadata in the order it will be written.
    public private(set) var metadata: [(key: String, value: GGUFValue)] = []
    /// Tensors in the order they will be written.
    public private(set) var tensors: [PendingTensor] = []
    /// Data alignment; written as `general.alignment` when it differs from the default.
    public var alignment: Int

    /// Creates an empty writer.
    /// - Parameter alignment: the data alignment, a power of two (default 32).
    public init(alignment: Int = GGUFFile.defaultAlignment) {
        precondition(alignment > 0 && alignment & (alignment - 1) == 0, "alignment must be a power of two")
        self.alignment = alignment
    }

    /// Sets `key` to `value`, replacing an earlier value in place.
    public mutating func set(_ key: String, _ value: GGUFValue) {
        if let index = metadata.firstIndex(where: { $0.key == key }) {
            metadata[index].value = value
        } else {
            metadata.append((key, value))
        }
    }

    /// Adds a tensor.
    /// - Parameters:
    ///   - name: tensor name, unique in the file.
    ///   - dimensions: ggml order, innermost first.
    ///   - type: element type.
    ///   - data: the packed elements; its size must match the shape and type.
    /// - Throws: ``GGUFError`` with code `.corrupt` if the name repeats or the size is wrong.
    public mutating func addTensor(name: String, dimensions: [Int], type: GGMLType, data: Data) throws(GGUFError) {
        guard !tensors.contains(where: { $0.name == name }) else {
            throw GGUFError(.corrupt, "tensor \(name) added twice")
        }
        guard (1...GGUFFile.maxDimensions).contains(dimensions.count), dimensions.allSatisfy({ $0 > 0 }) else {
            throw GGUFError(.corrupt, "tensor \(name) has shape \(dimensions); ggml needs 1 to 4 positive dimensions")
        }
        let elements = dimensions.reduce(1, *)
        guard let expected = type.byteCount(elements: elements), expected == data.count else {
            throw GGUFError(.corrupt, "tensor \(name): \(data.count) bytes do not fit shape \(dimensions) of type \(type)")
        }
        tensors.append(PendingTensor(name: name, dimensions: dimensions, type: type, data: data))
    }

    /// The header: magic, counts, metadata and tensor infos, padded to the alignment.
    public func headerBytes() -> [UInt8] {
        var entries = metadata
        if alignment != GGUFFile.defaultAlignment, !entries.contains(where: { $0.key == "general.alignment" }) {
            entries.append(("general.alignment", .uint32(UInt32(alignment))))
        }
        var out = ByteWriter(capacity: 1 << 16)
        out.append(contentsOf: GGUFFile.magic)
        out.append(UInt32(3))
        out.append(UInt64(tensors.count))
        out.append(UInt64(entries.count))
        for (key, value) in entries {
            out.appendString(key, lengthType: UInt64.self)
            out.append(value.type.rawValue)
            Self.append(value, to: &out)
        }
        var offset = 0
        for tensor in tensors {
            out.appendString(tensor.name, lengthType: UInt64.self)
            out.append(UInt32(tensor.dimensions.count))
            for dimension in tensor.dimensions { out.append(UInt64(dimension)) }
            out.append(tensor.type.rawValue)
            out.append(UInt64(offset))
            offset = Self.aligned(offset + tensor.data.count, alignment)
        }
        out.pad(toMultipleOf: alignment)
        return out.bytes
    }

    /// Writes the whole file to `url`, through a temporary file renamed into place, so a
    /// failed write never leaves a half-written model under the final name.
    /// - Throws: ``GGUFError`` with code `.io`.
    public func write(to url: URL) throws(GGUFError) {
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).partial")
        do {
            guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
                throw GGUFError(.io, "cannot create \(temporary.path)")
            }
            let handle = try FileHandle(forWritingTo: temporary)
            defer { try? handle.close() }
            try handle.write(contentsOf: headerBytes())
            for tensor in tensors {
                try handle.write(contentsOf: tensor.data)
                let padding = Self.aligned(tensor.data.count, alignment) - tensor.data.count
                if padding > 0 { try handle.write(contentsOf: Data(count: padding)) }
            }
            try handle.synchronize()
            _ = try? FileManager.default.removeItem(at: url)
            try FileManager.default.moveItem(at: temporary, to: url)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw GGUFError(.io, "cannot write \(url.path): \(error.localizedDescription)")
        }
    }

    /// The whole file in memory (for tests and small files).
    public func fileBytes() -> Data {
        var data = Data(headerBytes())
        for tensor in tensors {
            data.append(tensor.data)
            data.append(Data(count: Self.aligned(tensor.data.count, alignment) - tensor.data.count))
        }
        return data
    }

    private static func aligned(_ value: Int, _ alignment: Int) -> Int {
        (value + alignment - 1) / alignment * alignment
    }

    private static func append(_ value: GGUFValue, to out: inout ByteWriter) {
        switch value {
        case .uint8(let v): out.append(v)
        case .int8(let v): out.append(v)
        case .uint16(let v): out.append(v)
        case .int16(let v): out.append(v)
        case .uint32(let v): out.append(v)
        case .int32(let v): out.append(v)
        case .uint64(let v): out.append(v)
        case .int64(let v): out.append(v)
        case .float32(let v): out.append(v)
        case .float64(let v): out.append(v)
        case .bool(let v): out.append(v)
        case .string(let v): out.appendString(v, lengthType: UInt64.self)
        case .array(let elementType, let elements):
            out.append(elementType.rawValue)
            out.append(UInt64(elements.count))
            for element in elements { append(element, to: &out) }
        }
    }
}
