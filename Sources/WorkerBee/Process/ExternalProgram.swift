import Foundation

/// Runs a helper program (`pdftoppm`, `pdfinfo`, the `workerbee` binary in tests) to completion,
/// with the same launcher as the workers: spawned from the spawner thread with nothing but its
/// three standard descriptors, its exit awaited as an event, so no thread blocks on it.
package enum ExternalProgram {
    /// What a finished program left behind.
    package struct Output: Sendable {
        /// How it ended.
        package let status: ExitStatus
        /// Everything it wrote to standard output.
        package let stdout: Data
        /// Everything it wrote to standard error.
        package let stderr: Data

        /// Whether it exited with status 0.
        package var succeeded: Bool { status == .exited(0) }
    }

    /// The first executable file called `name` in the folders of `PATH`.
    package static func find(_ name: String, path: String? = ProcessInfo.processInfo.environment["PATH"]) -> URL? {
        for directory in (path ?? "/usr/bin:/bin").split(separator: ":") {
            let url = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }

    /// Runs `executable` with `arguments` and waits for it to end. Its output goes to temporary
    /// files, so a large output cannot fill a pipe and stall it. Cancelling the calling task kills
    /// the program (SIGKILL) and throws `CancellationError` once it is reaped.
    /// - Parameters:
    ///   - executable: the program.
    ///   - arguments: its arguments.
    ///   - stdin: bytes for its standard input (empty by default).
    ///   - environment: added to (and overriding) this process's environment.
    ///   - timeout: how long it may run (nil: no limit); past it, it is killed.
    ///   - onStart: called with the pid once it runs.
    ///   - onTimeout: called with the pid when the timeout passes, before the program is killed
    ///     (to look at a stuck program while it is still there).
    /// - Throws: ``WorkerError`` `.spawnFailed` if it cannot be started, `.timedOut` if it ran
    ///   past `timeout`; `CancellationError`; or a file error.
    package static func run(
        _ executable: URL, arguments: [String], stdin: Data = Data(), environment: [String: String] = [:], timeout: Duration? = nil,
        onStart: (@Sendable (Int32) -> Void)? = nil, onTimeout: (@Sendable (Int32) async -> Void)? = nil
    ) async throws -> Output {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("in"), output = directory.appendingPathComponent("out"), errors = directory.appendingPathComponent("err")
        try stdin.write(to: input)
        let fds = [open(input.path, O_RDONLY | O_CLOEXEC), open(output.path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600), open(errors.path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)]
        defer { for fd in fds where fd >= 0 { close(fd) } }
        guard fds.allSatisfy({ $0 >= 0 }) else {
            throw WorkerError(.spawnFailed, "cannot create the files for \(executable.lastPathComponent)'s input and output: \(String(cString: strerror(errno)))")
        }
        try Task.checkCancellation()
        let merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let process = try await ChildProcess.spawn(executable: executable.path, arguments: arguments, environment: merged, stdin: fds[0], stdout: fds[1], stderr: fds[2])
        onStart?(process.pid)
        let ended = await withTaskCancellationHandler {
            await process.waitForExit(timeout: timeout)
        } onCancel: {
            process.send(signal: SIGKILL)
        }
        if Task.isCancelled {
            process.send(signal: SIGKILL)
            _ = await process.waitForExit(timeout: nil)
            throw CancellationError()
        }
        guard let status = ended else {
            await onTimeout?(process.pid)
            process.send(signal: SIGKILL)
            let status = await process.waitForExit(timeout: nil) ?? .exited(-1)
            throw WorkerError(.timedOut, "\(executable.lastPathComponent) did not finish within \(timeout.map(String.init(describing:)) ?? "?"); it was killed (\(status))")
        }
        return Output(status: status, stdout: try Data(contentsOf: output), stderr: try Data(contentsOf: errors))
    }
}
