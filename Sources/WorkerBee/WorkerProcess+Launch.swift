internal import CWorkerBeeSystem
import Foundation
import Logging
import WorkerBeeModels
import WorkerBeeWire

extension WorkerProcess {
    func runningConnection() async throws(WorkerError) -> ChildConnection {
        if let connection, !connection.isClosed, connection.process.exitStatus == nil { return connection }
        if let connection { await discard(connection) }
        return try await launch()
    }

    func launch() async throws(WorkerError) -> ChildConnection {
        Self.ignoreSIGPIPE
        let executable = try WorkerExecutable.locate(configured: configuration.launch.executable)
        let logFD = try openLog()
        let arguments = configuration.launch.arguments
            + ["--settings", configuration.workerSettings.json(), "--parent-pid", "\(getpid())"]
        // Swift's crash backtracer and ggml's gdb backtrace take seconds and bury the worker's last
        // words under thread dumps; they stay off unless the caller's environment turns them on.
        let quietCrashes = ["SWIFT_BACKTRACE": "enable=no", "GGML_NO_BACKTRACE": "1"]
        let environment = quietCrashes.merging(ProcessInfo.processInfo.environment) { $1 }.merging(configuration.launch.environment) { $1 }
            .merging([WorkerInvocation.environmentKey: "1"]) { $1 }
            // Tesseract (OpenMP) would otherwise start a thread per core in every worker: N
            // workers on N cores would oversubscribe. llama.cpp's own thread count is the same.
            .merging(configuration.engine.threads.map { ["OMP_THREAD_LIMIT": "\($0)"] } ?? [:]) { current, _ in current }
        // The worker's standard error goes through a pipe that the host copies into the log
        // file, so that error messages quote this worker's own lines (WorkerLogPump).
        var errorPipe: [Int32] = [-1, -1]
        guard wb_pipe_cloexec(&errorPipe) == 0 else {
            close(logFD)
            throw WorkerError(.spawnFailed, "pipe failed: \(String(cString: strerror(errno)))")
        }
        let spawned: (process: ChildProcess, requestFD: Int32, responseFD: Int32)
        do {
            spawned = try await ChildProcess.spawnWorker(executable: executable.path, arguments: arguments, environment: environment, logFD: errorPipe[1])
        } catch {
            for fd in errorPipe + [logFD] { close(fd) }
            throw error
        }
        close(errorPipe[1])
        let process = spawned.process
        let log = WorkerLogPump(pipe: errorPipe[0], file: logFD, label: "\(process.pid)")
        spawnCount += 1
        let connection = ChildConnection(process: process, requestFD: spawned.requestFD, responseFD: spawned.responseFD, log: log, logger: logger)
        let startTimeout = configuration.timeouts.start
        let timer = Task.detached { () -> Bool in
            guard (try? await Task.sleep(for: startTimeout)) != nil else { return false }
            process.send(signal: SIGKILL)
            return true
        }
        defer { timer.cancel() }
        let hello: WorkerHello
        do {
            hello = try await connection.awaitHello()
        } catch let error as WireError {
            let status = await discard(connection)
            throw WorkerError(.protocolViolation, "the worker broke the protocol while starting: \(error)", exitStatus: status, logTail: await logTail(of: connection))
        } catch {
            let status = await reapLost(connection)
            timer.cancel()
            if await timer.value {
                throw WorkerError(.timedOut, "the worker did not start within \(startTimeout); it was killed", exitStatus: status, logTail: await logTail(of: connection))
            }
            let tail = await logTail(of: connection)
            let refusal = tail.split(separator: "\n").last { $0.contains("refusing to start: ") }.map { String($0[$0.range(of: "refusing to start: ")!.upperBound...]) }
            throw WorkerError(
                refusal != nil ? .spawnFailed : .crashed,
                refusal.map { "the worker refused to start: \($0)" } ?? lossMessage("the worker exited while starting", status: status, tail: tail),
                exitStatus: status, logTail: tail)
        }
        guard hello.protocolVersion == WireProtocol.version else {
            let status = await discard(connection)
            let mismatch = WireError(.versionMismatch, "the worker speaks protocol \(hello.protocolVersion), this host \(WireProtocol.version)")
            throw WorkerError(.protocolViolation, "\(mismatch) (is \(executable.path) from another WorkerBee version?)", exitStatus: status)
        }
        self.hello = hello
        self.connection = connection
        requestsOnConnection = 0
        emit(.spawned(pid: hello.pid))
        logger.info("worker \(hello.pid) started: \(hello.buildInfo)")
        return connection
    }

    func forget(_ connection: ChildConnection) {
        largestFrame = max(largestFrame, connection.largestFrameReceived)
        if self.connection === connection { self.connection = nil }
    }

    /// Kills and reaps a worker that is no longer trusted, and forgets it.
    @discardableResult
    func discard(_ connection: ChildConnection) async -> ExitStatus {
        forget(connection)
        let status = await connection.process.terminate()
        connection.close()
        return status
    }

    /// Reaps a worker whose output ended (it normally exits by itself), and forgets it.
    func reapLost(_ connection: ChildConnection) async -> ExitStatus {
        forget(connection)
        let status = await connection.process.stop(steps: [(nil, .seconds(2))])
        connection.close()
        return status
    }

    func openLog() throws(WorkerError) -> Int32 {
        let url = configuration.launch.logURL
        try? FileManager.default.createDirectory(at: configuration.launch.logDirectory, withIntermediateDirectories: true)
        if let size = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? UInt64, size > 16 << 20 {
            let old = url.appendingPathExtension("1")
            try? FileManager.default.removeItem(at: old)
            try? FileManager.default.moveItem(at: url, to: old)
        }
        let fd = open(url.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw WorkerError(.spawnFailed, "cannot open the worker log \(url.path): \(String(cString: strerror(errno)))")
        }
        return fd
    }

    /// The end of what `connection`'s worker wrote, once its output has ended (at most 2 s).
    func logTail(of connection: ChildConnection) async -> String {
        guard let log = connection.log else { return "" }
        await log.waitForEnd(timeout: .seconds(2))
        return log.tail()
    }

    static let ignoreSIGPIPE: Void = {
        signal(SIGPIPE, SIG_IGN)
    }()

}
