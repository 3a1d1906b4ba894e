import Foundation
import WorkerBee

/// Ollama's `keep_alive` on a request: a duration (`"5m"`, `"1h30m"`, `"300ms"`), a number of
/// seconds (`300`, `"300"`), `0` to unload after the request, or a negative value to keep the
/// model until it is unloaded.
package struct KeepAliveValue: Decodable, Equatable {
    package let keepAlive: ModelPools.KeepAlive

    package init(_ keepAlive: ModelPools.KeepAlive) { self.keepAlive = keepAlive }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let seconds = try? container.decode(Double.self) {
            keepAlive = Self.seconds(seconds)
            return
        }
        let text = try container.decode(String.self)
        guard let parsed = Self.parse(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "keep_alive must be a duration such as \"5m\" or a number of seconds")
        }
        keepAlive = parsed
    }

    private static func seconds(_ value: Double) -> ModelPools.KeepAlive {
        value < 0 ? .forever : .duration(.milliseconds(Int64((value * 1000).rounded())))
    }

    /// A Go-style duration (`1h30m`, `5m`, `10s`, `250ms`, `-1`) or a plain number of seconds.
    package static func parse(_ text: String) -> ModelPools.KeepAlive? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let number = Double(trimmed) { return seconds(number) }
        var rest = Substring(trimmed)
        var negative = false
        if rest.hasPrefix("-") {
            negative = true
            rest = rest.dropFirst()
        }
        var total = 0.0
        let units: [(String, Double)] = [("ms", 0.001), ("h", 3600), ("m", 60), ("s", 1)]
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isNumber || $0 == "." }
            guard let value = Double(digits), !digits.isEmpty else { return nil }
            rest = rest.dropFirst(digits.count)
            guard let (unit, scale) = units.first(where: { rest.hasPrefix($0.0) }) else { return nil }
            rest = rest.dropFirst(unit.count)
            total += value * scale
        }
        return seconds(negative ? -total : total)
    }
}
