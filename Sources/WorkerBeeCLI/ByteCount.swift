import Foundation
import ArgumentParser

/// A size given on the command line: a number of bytes with an optional K, M or G suffix
/// (powers of 1,024), e.g. `512M`.
struct ByteCount: ExpressibleByArgument, Sendable {
    /// The size in bytes.
    let bytes: Int

    init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces).uppercased()
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        var digits = Substring(text)
        var scale = 1
        if let last = digits.last, let unit = units[last] {
            scale = unit
            digits = digits.dropLast()
        }
        if digits.last == "I" || digits.last == "B" { return nil }
        guard let value = Double(digits), value > 0 else { return nil }
        bytes = Int(value * Double(scale))
    }

    /// The size as it would be typed: `16M`, `2G`, `512K`, or bytes.
    var defaultValueDescription: String {
        for (unit, scale) in [("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)] where bytes % scale == 0 {
            return "\(bytes / scale)\(unit)"
        }
        return "\(bytes)"
    }
}
