import Foundation

/// Converts between Float32 and IEEE-754 half precision bit patterns, portably (Swift's
/// `Float16` is missing on some platforms, e.g. macOS on Intel).
public enum Float16Conversion {
    /// The half-precision bits nearest to `value` (round to nearest, ties to even).
    public static func halfBits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        var mantissa = bits & 0x7F_FFFF
        if exponent == 0xFF {  // infinity or NaN
            return sign | 0x7C00 | (mantissa != 0 ? 0x200 : 0)
        }
        let halfExponent = exponent - 127 + 15
        if halfExponent >= 0x1F { return sign | 0x7C00 }  // overflow to infinity
        if halfExponent <= 0 {  // subnormal half or zero
            if halfExponent < -10 { return sign }
            mantissa |= 0x80_0000
            let shift = UInt32(14 - halfExponent)
            var half = mantissa >> shift
            let remainder = mantissa & ((1 << shift) - 1)
            let halfway = UInt32(1) << (shift - 1)
            if remainder > halfway || (remainder == halfway && half & 1 == 1) { half += 1 }
            return sign | UInt16(half)
        }
        var half = UInt32(halfExponent) << 10 | (mantissa >> 13)
        let remainder = mantissa & 0x1FFF
        if remainder > 0x1000 || (remainder == 0x1000 && half & 1 == 1) { half += 1 }  // may carry into the exponent, which is right
        return sign | UInt16(half)
    }

    /// The Float32 value of half-precision `bits`.
    public static func float(fromHalfBits bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits) & 0x3FF
        if exponent == 0 {
            // zero or subnormal: value = mantissa * 2^-24
            let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign != 0 ? -magnitude : magnitude
        }
        if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// Packs floats as little-endian half-precision bytes.
    public static func halfData(_ values: [Float]) -> Data {
        var data = Data(count: values.count * 2)
        data.withUnsafeMutableBytes { raw in
            let out = raw.bindMemory(to: UInt16.self)
            for (index, value) in values.enumerated() { out[index] = halfBits(value).littleEndian }
        }
        return data
    }

    /// Packs floats as little-endian bfloat16 bytes (the upper half of a Float32, rounded to
    /// nearest even; NaN stays a quiet NaN), as llama.cpp's converter writes BF16.
    public static func bfloat16Data(_ values: [Float]) -> Data {
        var data = Data(count: values.count * 2)
        data.withUnsafeMutableBytes { raw in
            let out = raw.bindMemory(to: UInt16.self)
            for (index, value) in values.enumerated() {
                let bits = value.bitPattern
                let rounded = value.isNaN ? 0x7FC0 : UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
                out[index] = rounded.littleEndian
            }
        }
        return data
    }

    /// Packs floats as little-endian Float32 bytes.
    public static func floatData(_ values: [Float]) -> Data {
        var data = Data(count: values.count * 4)
        data.withUnsafeMutableBytes { raw in
            let out = raw.bindMemory(to: UInt32.self)
            for (index, value) in values.enumerated() { out[index] = value.bitPattern.littleEndian }
        }
        return data
    }
}
