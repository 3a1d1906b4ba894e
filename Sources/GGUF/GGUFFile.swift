import BinaryCoding
import Foundation

/// A parsed GGUF file: its metadata, its tensor infos, and access to the tensor data.
///
/// The reader checks every length, count, type tag and offset against the file, so a truncated
/// or corrupt file gives a ``GGUFError`` rather than a crash. Files are memory-mapped, so
/// opening a large model to read its metadata costs little.
public struct GGUFFile: Sendable {
    /// The four bytes every GGUF file starts with.
    public static let magic: [UInt8] = Array("GGUF".utf8)
    /// The alignment used when `general.alignment` is absent.
    public static let defaultAlignment = 32
    /// The largest dimension count ggml supports.
    public static let maxDimensions = 4

    /// The format version (2 or 3).
    public let version: UInt32
    /// Metadata in file order.
    public let metadata: [(key: String, value: GGUFValue)]
    /// Tensor infos in file order.
    public let tensors: [GGUFTensorInfo]
    /// The data alignment.
    public let alignment: Int
    /// Offset of the data section from the start of the file.
    public let dataOffset: Int
    /// The whole file.
    public let data: Data

    private let index: [String: Int]

    /// Opens and parses the file at `url`.
    /// - Throws: ``GGUFError`` with code `.io` if it cannot be read, or a parse error.
    public init(contentsOf url: URL) throws(GGUFError) {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw GGUFError(.io, "cannot read \(url.path): \(error.localizedDescription)")
        }
        try self.init(data: data, name: url.lastPathComponent)
    }

    /// Parses a GGUF file held in memory.
    /// - Parameters:
    ///   - data: the file's bytes.
    ///   - name: a name for error messages.
    /// - Throws: ``GGUFError`` if the bytes are not a valid GGUF file.
    public init(data: Data, name: String = "GGUF data") throws(GGUFError) {
        var reader = ByteReader(data)
        do {
            guard data.count >= 4, Array(data.prefix(4)) == Self.magic else {
                throw GGUFError(.notGGUF, "\(name) is not a GGUF file (it does not start with \"GGUF\")")
            }
            reader.offset = 4
            let version = try reader.read(UInt32.self)
            guard version == 2 || version == 3 else {
                throw GGUFError(.unsupportedVersion, "\(name) has GGUF version \(version); supported: 2 and 3")
            }
            let tensorCount = try reader.read(UInt64.self)
            let keyCount = try reader.read(UInt64.self)
            // Each key-value pair takes at least 12 bytes and each tensor info at least 24, so
            // counts larger than that cannot be honest; refuse them before allocating anything.
            guard keyCount <= UInt64(reader.remaining / 12), tensorCount <= UInt64(reader.remaining / 24) else {
                throw GGUFError(.corrupt, "\(name) announces \(keyCount) keys and \(tensorCount) tensors, more than its \(data.count) bytes can hold")
            }
            var metadata: [(key: String, value: GGUFValue)] = []
            metadata.reserveCapacity(Int(keyCount))
            var seenKeys = Set<String>()
            for _ in 0..<keyCount {
                let key = try reader.readString(lengthType: UInt64.self)
                guard seenKeys.insert(key).inserted else {
                    throw GGUFError(.corrupt, "\(name) has the key \(key) twice")
                }
                let rawType = try reader.read(UInt32.self)
                guard let type = GGUFValueType(rawValue: rawType) else {
                    throw GGUFError(.corrupt, "\(name): key \(key) has unknown value type \(rawType)")
                }
                metadata.append((key, try Self.readValue(type, from: &reader, key: key, name: name, depth: 0)))
            }
            var alignment = Self.defaultAlignment
            if let value = metadata.first(where: { $0.key == "general.alignment" })?.value {
                guard let a = value.intValue, a > 0, a & (a - 1) == 0, a <= 1 << 20 else {
                    throw GGUFError(.corrupt, "\(name): general.alignment \(value) is not a power of two")
                }
                alignment = a
            }
            var tensors: [GGUFTensorInfo] = []
            tensors.reserveCapacity(Int(tensorCount))
            var names = Set<String>()
            for _ in 0..<tensorCount {
                let tensorName = try reader.readString(lengthType: UInt64.self)
                guard names.insert(tensorName).inserted else {
                    throw GGUFError(.corrupt, "\(name) has the tensor \(tensorName) twice")
                }
                let dimensionCount = try reader.read(UInt32.self)
                guard dimensionCount >= 1, dimensionCount <= Self.maxDimensions else {
                    throw GGUFError(.corrupt, "\(name): tensor \(tensorName) has \(dimensionCount) dimensions; ggml allows 1 to \(Self.maxDimensions)")
                }
                var dimensions: [Int] = []
                var elements = 1
                for _ in 0..<dimensionCount {
                    let raw = try reader.read(UInt64.self)
                    guard let dimension = Int(exactly: raw), dimension > 0 else {
                        throw GGUFError(.corrupt, "\(name): tensor \(tensorName) has dimension \(raw)")
                    }
                    let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
                    guard !overflow else { throw GGUFError(.corrupt, "\(name): tensor \(tensorName) is impossibly large") }
                    elements = product
                    dimensions.append(dimension)
                }
                let type = GGMLType(rawValue: try reader.read(UInt32.self))
                let rawOffset = try reader.read(UInt64.self)
                guard let offset = Int(exactly: rawOffset), offset % alignment == 0 else {
                    throw GGUFError(.corrupt, "\(name): tensor \(tensorName) has offset \(rawOffset), not a multiple of the alignment \(alignment)")
                }
                tensors.append(GGUFTensorInfo(name: tensorName, dimensions: dimensions, type: type, offset: offset))
            }
            let headerEnd = reader.offset
            let dataOffset = (headerEnd + alignment - 1) / alignment * alignment
            if !tensors.isEmpty && dataOffset > data.count {
                throw GGUFError(.truncated, "\(name) is truncated: it ends before its tensor data begins")
            }
            let dataSize = data.count - min(dataOffset, data.count)
            var spans: [(start: Int, end: Int, name: String)] = []
            for tensor in tensors {
                guard let size = tensor.byteCount else {
                    // Unknown or mis-shaped types: keep the info, but the data cannot be checked.
                    continue
                }
                let (end, overflow) = tensor.offset.addingReportingOverflow(size)
                guard !overflow, end <= dataSize else {
                    throw GGUFError(.truncated, "\(name) is truncated: tensor \(tensor.name) needs bytes \(tensor.offset)..<\(tensor.offset &+ size) of a data section of \(dataSize) bytes")
                }
                spans.append((tensor.offset, end, tensor.name))
            }
            spans.sort { $0.start < $1.start }
            for (previous, next) in zip(spans, spans.dropFirst()) where next.start < previous.end {
                throw GGUFError(.corrupt, "\(name): tensors \(previous.name) and \(next.name) overlap")
            }
            self.version = version
            self.metadata = metadata
            self.tensors = tensors
            self.alignment = alignment
            self.dataOffset = dataOffset
            self.data = data
            self.index = Dictionary(uniqueKeysWithValues: metadata.enumerated().map { ($1.key, $0) })
        } catch let error as GGUFError {
            throw error
        } catch let error as ByteReader.OutOfBounds {
            throw GGUFError(.truncated, "\(name) is truncated or corrupt: \(error)")
        } catch {
            throw GGUFError(.corrupt, "\(name): \(error)")
        }
    }

    /// The value stored under `key`, if any.
    public subscript(key: String) -> GGUFValue? {
        index[key].map { metadata[$0].value }
    }

    /// The tensor info named `name`, if any.
    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensors.first { $0.name == name }
    }

    /// The raw bytes of a tensor.
    /// - Throws: ``GGUFError`` if the tensor's type is unknown to this module.
    public func bytes(of tensor: GGUFTensorInfo) throws(GGUFError) -> Data {
        guard let size = tensor.byteCount else {
            throw GGUFError(.corrupt, "tensor \(tensor.name) has type \(tensor.type), whose layout is unknown")
        }
        let start = data.startIndex + dataOffset + tensor.offset
        return data.subdata(in: start..<(start + size))
    }

    /// The architecture named by `general.architecture`, if any.
    public var architecture: String? { self["general.architecture"]?.stringValue }

    /// The weight type as llama.cpp names it (`F16`, `Q8_0`, `Q4_K_M`, ...): from
    /// `general.file_type`, or, for a file without that key, the type most of its matrices have.
    public var fileTypeName: String {
        if let raw = self["general.file_type"]?.intValue {
            return GGUFFileType.llamaName(of: raw) ?? "llama_ftype \(raw)"
        }
        let counts = Dictionary(grouping: tensors.filter { $0.dimensions.count > 1 }, by: \.type).mapValues(\.count)
        return counts.max { $0.value < $1.value }?.key.description ?? "unknown"
    }

    /// Whether the model embeds text: it declares a pooling type (`<arch>.pooling_type`, as
    /// llama.cpp's converters write for embedding models) and is not a vision projector.
    public var canEmbed: Bool {
        guard let architecture, architecture != "clip" else { return false }
        return self["\(architecture).pooling_type"] != nil
    }

    /// Whether the model is a reranker: it declares rank pooling (`<arch>.pooling_type` 4), so
    /// it scores query-document pairs instead of embedding texts.
    public var isReranker: Bool {
        guard let architecture, architecture != "clip" else { return false }
        return self["\(architecture).pooling_type"]?.intValue == 4
    }

    private static func readValue(
        _ type: GGUFValueType, from reader: inout ByteReader, key: String, name: String, depth: Int
    ) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try reader.read())
        case .int8: return .int8(try reader.read())
        case .uint16: return .uint16(try reader.read())
        case .int16: return .int16(try reader.read())
        case .uint32: return .uint32(try reader.read())
        case .int32: return .int32(try reader.read())
        case .uint64: return .uint64(try reader.read())
        case .int64: return .int64(try reader.read())
        case .float32: return .float32(try reader.readFloat())
        case .float64: return .float64(try reader.readDouble())
        case .bool:
            let byte = try reader.read(UInt8.self)
            guard byte <= 1 else { throw GGUFError(.corrupt, "\(name): key \(key) has bool value \(byte)") }
            return .bool(byte == 1)
        case .string: return .string(try reader.readString(lengthType: UInt64.self))
        case .array:
            guard depth < 8 else { throw GGUFError(.corrupt, "\(name): key \(key) nests arrays too deeply") }
            let rawType = try reader.read(UInt32.self)
            guard let elementType = GGUFValueType(rawValue: rawType) else {
                throw GGUFError(.corrupt, "\(name): key \(key) is an array of unknown type \(rawType)")
            }
            let count = try reader.read(UInt64.self)
            // Every element takes at least one byte (strings and arrays at least 8).
            guard count <= UInt64(reader.remaining) else {
                throw GGUFError(.truncated, "\(name) is truncated: key \(key) announces \(count) elements but \(reader.remaining) bytes remain")
            }
            var elements: [GGUFValue] = []
            elements.reserveCapacity(Int(count))
            for _ in 0..<count {
                elements.append(try readValue(elementType, from: &reader, key: key, name: name, depth: depth + 1))
            }
            return .array(elementType: elementType, elements: elements)
        }
    }
}
