import Foundation
import WorkerBeeWire

/// Runs the `workerbee` binary with output in files, and waits without blocking a thread.
public struct CommandRun: Sendable {
    /// The exit status.
    public let status: Int32
    /// Everything written to standard output.
    public let stdout: String
    /// Everything written to standard error.
    public let stderr: String

    /// Runs `workerbee` with `arguments` and `stdin`; `onStart` gets the pid once it runs.
    public static func run(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:], onStart: (@Sendable (Int32) -> Void)? = nil) async throws -> CommandRun {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("out"), err = directory.appendingPathComponent("err"), inp = directory.appendingPathComponent("in")
        try Data((stdin ?? "").utf8).write(to: inp)
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        process.executableURL = try workerbeeExecutable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = try FileHandle(forReadingFrom: inp)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
                onStart?(process.processIdentifier)
            } catch {
                continuation.resume(throwing: error)
            }
        }
        return CommandRun(status: status, stdout: try String(contentsOf: out, encoding: .utf8), stderr: try String(contentsOf: err, encoding: .utf8))
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
