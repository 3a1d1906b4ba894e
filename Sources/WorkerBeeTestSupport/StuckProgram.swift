import Foundation
import Synchronization
import WorkerBee

/// What a test learns about a program that ran past its time: the process tree under it and
/// every thread's stack (`scripts/stall-report`, which uses gdb or lldb), taken while it is
/// still running, so a hang fails one test with the place it hung instead of stalling the suite.
public final class StuckProgram: Sendable {
    private let text = Mutex<String?>(nil)

    public init() {}

    /// Takes the report for `pid` (at most two minutes).
    public func record(_ pid: Int32) async {
        let script = repositoryRoot.appendingPathComponent("scripts/stall-report")
        let report: String
        do {
            let output = try await ExternalProgram.run(script, arguments: ["\(pid)"], timeout: .seconds(120))
            report = String(decoding: output.stdout + output.stderr, as: UTF8.self)
        } catch {
            report = "no report: \(error)"
        }
        text.withLock { $0 = report }
    }

    /// The report, or a note that none was taken.
    public var report: String {
        text.withLock { $0 } ?? "no report was taken"
    }
}
