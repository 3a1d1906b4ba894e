import Testing
import WorkerBeeTestSupport

@testable import GGUF

@Suite struct Float16ConversionTests {
    static let known: [(Float, UInt16)] = [
        (1, 0x3C00), (-2, 0xC000), (0.5, 0x3800), (65504, 0x7BFF), (0, 0x0000),
        (-0.0, 0x8000), (.infinity, 0x7C00), (100_000, 0x7C00), (5.960464477539063e-08, 0x0001),
    ]

    @Test(arguments: known)
    func knownValuesConvertExactly(value: Float, bits: UInt16) {
        #expect(Float16Conversion.halfBits(value) == bits)
    }

    @Test func halfwayValuesRoundToEven() {
        // 1 + 2^-11 lies halfway between 1 and the next half (1 + 2^-10): ties go to even (1).
        #expect(Float16Conversion.halfBits(1 + Float(sign: .plus, exponent: -11, significand: 1)) == 0x3C00)
        // 1 + 3 * 2^-11 lies halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even).
        #expect(Float16Conversion.halfBits(1 + 3 * Float(sign: .plus, exponent: -11, significand: 1)) == 0x3C02)
    }

    @Test func bfloat16KeepsTheUpperHalfRoundedToEven() {
        func bits(_ value: Float) -> UInt16 {
            Float16Conversion.bfloat16Data([value]).withUnsafeBytes { $0.load(as: UInt16.self).littleEndian }
        }
        #expect(bits(1) == 0x3F80)
        #expect(bits(-2) == 0xC000)
        // Exactly halfway between 0x3F80 and 0x3F81: ties go to the even one.
        #expect(bits(Float(bitPattern: 0x3F80_8000)) == 0x3F80)
        #expect(bits(Float(bitPattern: 0x3F81_8000)) == 0x3F82)
        #expect(bits(Float(bitPattern: 0x3F80_8001)) == 0x3F81)
        #expect(bits(.nan) == 0x7FC0)
        #expect(bits(.infinity) == 0x7F80)
    }

    @Test func everyHalfSurvivesARoundTrip() {
        for bits in UInt16.min...UInt16.max {
            let value = Float16Conversion.float(fromHalfBits: bits)
            if value.isNaN { continue }
            #expect(Float16Conversion.halfBits(value) == bits)
        }
    }

    @Test func nanStaysNaN() {
        let bits = Float16Conversion.halfBits(.nan)
        #expect(Float16Conversion.float(fromHalfBits: bits).isNaN)
    }
}
