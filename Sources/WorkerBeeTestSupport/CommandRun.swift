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

    /// How long one command may run before it is taken for stuck.
    public static let defaultTimeout: Duration = .seconds(600)

    /// Runs `workerbee` with `arguments` and `stdin`; `onStart` gets the pid once it runs.
    /// - Throws: ``StuckProgram`` if it runs past `timeout`, with the stacks of its threads and
    ///   of its workers', taken before it was killed.
    public static func run(
        _ arguments: [String], stdin: String? = nil, environment: [String: String] = [:], timeout: Duration = defaultTimeout,
        onStart: (@Sendable (Int32) -> Void)? = nil
    ) async throws -> CommandRun {
        let output = try await StuckProgram.run(
            try workerbeeExecutable, arguments: arguments, stdin: Data((stdin ?? "").utf8), environment: environment, timeout: timeout, onStart: onStart)
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
