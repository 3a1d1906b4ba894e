import Foundation
import WorkerBeeHub

extension HubProgress {
    /// News lines on standard error; with `interactive` (a terminal) a progress line per download,
    /// otherwise only the line each finished download writes.
    static func standardError(interactive: Bool) -> HubProgress {
        HubProgress(note: { printError($0) }, meter: { total in
            let meter = ProgressMeter(total: total, unit: ProgressMeter.bytes, enabled: interactive)
            return { done in
                if let done { meter.update(done: done) } else { meter.finish() }
            }
        })
    }
}
