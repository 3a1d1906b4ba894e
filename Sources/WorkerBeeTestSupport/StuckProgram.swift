import Foundation
import Synchronization
import WorkerBee

/// A program a test started that ran past its time and was killed, with where it was: the
/// process tree under it and every thread's stack (`scripts/stall-report`, which uses gdb or
/// lldb), taken while it was still running. A hang fails one test with the place it hung
/// instead of stalling the suite.
public struct StuckProgram: Error, CustomStringConvertible {
    /// The command line.
    public let command: String
    /// The time it had.
    public let timeout: Duration
    /// Where its threads, and its children's, were when it was stopped.
    public let report: String

    public var description: String {
        "\(command) did not finish within \(timeout); it was killed. Where it was:\n\(report)"
    }

    /// Runs a program as ``ExternalProgram/run(_:arguments:stdin:environment:timeout:onStart:onTimeout:)``
    /// does, with a time limit.
    /// - Throws: ``StuckProgram`` if it runs past `timeout`, else what `ExternalProgram` throws.
    package static func run(
        _ executable: URL, arguments: [String], stdin: Data = Data(), environment: [String: String] = [:], timeout: Duration,
        onStart: (@Sendable (Int32) -> Void)? = nil
    ) async throws -> ExternalProgram.Output {
        let report = Mutex<String?>(nil)
        do {
            return try await ExternalProgram.run(
                executable, arguments: arguments, stdin: stdin, environment: environment, timeout: timeout, onStart: onStart,
                onTimeout: { pid in
                    // Stop the program at once: on a loaded machine the report can start seconds
                    // later, and a running program's own timers (a host's embed timeout) would
                    // change the tree it is about to show. The report stops the rest of the tree.
                    kill(pid, SIGSTOP)
                    let text = await stacks(of: pid)
                    report.withLock { $0 = text }
                })
        } catch let error as WorkerError where error.code == .timedOut {
            throw StuckProgram(
                command: ([executable.lastPathComponent] + arguments).joined(separator: " "), timeout: timeout,
                report: report.withLock { $0 } ?? "no report was taken")
        }
    }

    /// The report for `pid` (at most two minutes).
    private static func stacks(of pid: Int32) async -> String {
        let script = repositoryRoot.appendingPathComponent("scripts/stall-report")
        do {
            let output = try await ExternalProgram.run(script, arguments: ["\(pid)"], timeout: .seconds(120))
            return String(decoding: output.stdout + output.stderr, as: UTF8.self)
        } catch {
            return "no report: \(error)"
        }
    }
}
