import Foundation

/// Sizes for people, as model listings and downloads show them.
package enum ByteSize {
    /// A byte count for people: `512 B`, `43.7 MiB` (powers of 1,024).
    package static func describe(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }
}
