import Foundation
import WorkerBee
import WorkerBeeTestSupport

/// One `workerbee serve` instance of a test fleet: a real server process on a fixed loopback
/// port, which the test kills, stops and starts again.
actor ServeProcess {
    /// The loopback port it listens on, the same across restarts.
    let port: Int
    private let notifications: NotifySocket
    private let arguments: [String]
    private let environment: [String: String]
    private var running: (pid: Int32, exit: Task<ExternalProgram.Output, any Error>)?

    /// A server that is not running yet; `directory` holds its notify socket; `arguments` and
    /// `environment` are added to those of every start.
    init(port: Int, directory: URL, arguments: [String] = [], environment: [String: String] = [:]) throws {
        self.port = port
        self.arguments = arguments
        self.environment = environment
        notifications = try NotifySocket(path: directory.appendingPathComponent("notify-\(port)").path)
    }

    /// Starts the server, one worker of one thread, and returns once it said `READY=1` on its
    /// notify socket (its worker loaded the default model and answered a probe).
    func start() async throws {
        precondition(running == nil, "the server on port \(port) is already running")
        let (pids, announce) = AsyncStream<Int32>.makeStream()
        let port = port
        let arguments = ["serve", "--port", "\(port)", "--workers", "1", "--threads", "1"] + arguments
        let environment = environment.merging(["NOTIFY_SOCKET": notifications.path, "WORKERBEE_LOG_LEVEL": "warning"]) { $1 }
        let exit = Task {
            defer { announce.finish() }
            return try await ExternalProgram.run(
                try workerbeeExecutable, arguments: arguments, environment: environment, onStart: { announce.yield($0) })
        }
        var iterator = pids.makeAsyncIterator()
        guard let pid = await iterator.next() else {
            throw FleetError("workerbee serve on port \(port) did not start: \(String(describing: await exit.result))")
        }
        running = (pid, exit)
        let message = await notifications.next()
        guard message == "READY=1" else {
            throw FleetError("workerbee serve on port \(port) did not say READY=1 (it said \(message ?? "nothing"))")
        }
    }

    /// Sends `signal` to the server process (not to its workers: they follow their host).
    func send(_ signal: Int32) {
        if let pid = running?.pid { kill(pid, signal) }
    }

    /// Waits for the server process to end, and returns how it ended.
    func waitForExit() async throws -> ExternalProgram.Output {
        guard let run = running else { throw FleetError("the server on port \(port) is not running") }
        running = nil
        return try await run.exit.value
    }

    /// Kills the server if it runs, and waits for it to end.
    func stop() async {
        guard let run = running else { return }
        running = nil
        run.exit.cancel()
        _ = await run.exit.result
    }
}

/// Something in the fleet did not go as the test needs.
struct FleetError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
