import Foundation
import WorkerBeeModels

/// A one-line progress display on stderr: done/total, rate and estimated time left (done and
/// rate only, when the total is not known in advance).
final class ProgressMeter {
    private let total: Int?
    private let unit: String
    private let enabled: Bool
    private let start = Date()
    private var lastDraw = Date.distantPast
    private var drawn = false

    init(total: Int?, unit: String, enabled: Bool) {
        self.total = total
        self.unit = unit
        self.enabled = enabled
    }

    func update(done: Int) {
        guard enabled else { return }
        let now = Date()
        guard done == total || now.timeIntervalSince(lastDraw) > 0.2 else { return }
        lastDraw = now
        let elapsed = max(now.timeIntervalSince(start), 1e-6)
        let rate = Double(done) / elapsed
        let line: String
        if unit == Self.bytes, let total {
            let left = rate > 0 ? Double(total - done) / rate : 0
            line = String(format: "\r%@ of %@ (%.0f%%), %@/s, %.0f s left   ", ByteSize.describe(done), ByteSize.describe(total),
                          total > 0 ? 100 * Double(done) / Double(total) : 100, ByteSize.describe(Int(rate)), left)
        } else if let total {
            let left = rate > 0 ? Double(total - done) / rate : 0
            line = String(format: "\r%d/%d %@ (%.0f%%), %.1f %@/s, %.0f s left   ", done, total, unit,
                          total > 0 ? 100 * Double(done) / Double(total) : 100, rate, unit, left)
        } else {
            line = String(format: "\r%d %@, %.1f %@/s   ", done, unit, rate, unit)
        }
        FileHandle.standardError.write(Data(line.utf8))
        drawn = true
    }

    /// The unit that shows counts as sizes (KiB, MiB, GiB) instead of numbers.
    static let bytes = "bytes"

    func finish() {
        if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
        drawn = false
    }
}
