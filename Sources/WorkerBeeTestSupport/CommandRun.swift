import Foundation
import WorkerBee
import WorkerBeeWire

/// Runs the `workerbee` binary with output in files, and waits without blocking a thread.
public struct CommandRun: Sendable {
    /// The exit status.
    public let status: Int32
    /// Everything written to standard output.
    public let stdout: String
    /// Everything written to standard error.
    public let stderr: String

    /// A `workerbee` command that ran past its time and was killed.
    public struct Stuck: Error, CustomStringConvertible {
        /// Its arguments.
        public let arguments: [String]
        /// The time it had.
        public let timeout: Duration
        /// Where its threads were when it was stopped (``StuckProgram``).
        public let report: String

        public var description: String {
            "workerbee \(arguments.joined(separator: " ")) did not finish within \(timeout); it was killed. Where it was:\n\(report)"
        }
    }

    /// How long one command may run before it is taken for stuck.
    public static let defaultTimeout: Duration = .seconds(600)

    /// Runs `workerbee` with `arguments` and `stdin`; `onStart` gets the pid once it runs.
    /// - Throws: ``Stuck`` if it runs past `timeout`: the stacks of every thread of it and of its
    ///   workers are in the error, taken before it was killed.
    public static func run(
        _ arguments: [String], stdin: String? = nil, environment: [String: String] = [:], timeout: Duration = defaultTimeout,
        onStart: (@Sendable (Int32) -> Void)? = nil
    ) async throws -> CommandRun {
        let stacks = StuckProgram()
        let output: ExternalProgram.Output
        do {
            output = try await ExternalProgram.run(
                try workerbeeExecutable, arguments: arguments, stdin: Data((stdin ?? "").utf8), environment: environment, timeout: timeout,
                onStart: onStart, onTimeout: { await stacks.record($0) })
        } catch let error as WorkerError where error.code == .timedOut {
            throw Stuck(arguments: arguments, timeout: timeout, report: stacks.report)
        }
        let status: Int32
        switch output.status {
        case .exited(let code): status = code
        case .signaled(let signal): status = 128 + signal
        }
        return CommandRun(status: status, stdout: String(decoding: output.stdout, as: UTF8.self), stderr: String(decoding: output.stderr, as: UTF8.self))
    }

    /// The `{"index", "embedding"}` lines of stdout.
    public var embeddings: [(index: Int, vector: [Float])] {
        get throws {
            try stdout.split(separator: "\n").map { line in
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                return ((object["index"] as! NSNumber).intValue, (object["embedding"] as! [NSNumber]).map(\.floatValue))
            }
        }
    }
}
