
/// A GGUF metadata value.
public indirect enum GGUFValue: Sendable, Equatable, CustomStringConvertible {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case float32(Float), bool(Bool), string(String), uint64(UInt64), int64(Int64), float64(Double)
    /// An array whose elements all have `elementType` (nested arrays are allowed).
    case array(elementType: GGUFValueType, elements: [GGUFValue])

    /// The value's type tag.
    public var type: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .float32: .float32
        case .bool: .bool
        case .string: .string
        case .uint64: .uint64
        case .int64: .int64
        case .float64: .float64
        case .array: .array
        }
    }

    /// The value as an integer, if it is any integer type (or a bool).
    public var intValue: Int? {
        switch self {
        case .uint8(let v): Int(v)
        case .int8(let v): Int(v)
        case .uint16(let v): Int(v)
        case .int16(let v): Int(v)
        case .uint32(let v): Int(v)
        case .int32(let v): Int(v)
        case .uint64(let v): Int(exactly: v)
        case .int64(let v): Int(v)
        case .bool(let v): v ? 1 : 0
        default: nil
        }
    }

    /// The value as a double, if it is numeric.
    public var doubleValue: Double? {
        switch self {
        case .float32(let v): Double(v)
        case .float64(let v): v
        default: intValue.map(Double.init)
        }
    }

    /// The value as a string, if it is one.
    public var stringValue: String? {
        if case .string(let v) = self { return v }
        return nil
    }

    /// The value as a bool, if it is one.
    public var boolValue: Bool? {
        if case .bool(let v) = self { return v }
        return nil
    }

    /// The elements, if the value is an array.
    public var arrayValue: [GGUFValue]? {
        if case .array(_, let elements) = self { return elements }
        return nil
    }

    public var description: String {
        switch self {
        case .string(let v): return "\"\(v)\""
        case .array(let type, let elements):
            let head = elements.prefix(4).map(\.description).joined(separator: ", ")
            return "[\(type): \(elements.count) items\(elements.isEmpty ? "" : ": " + head)\(elements.count > 4 ? ", ..." : "")]"
        case .float32(let v): return "\(v)"
        case .float64(let v): return "\(v)"
        case .bool(let v): return "\(v)"
        default: return "\(intValue ?? 0)"
        }
    }
}
