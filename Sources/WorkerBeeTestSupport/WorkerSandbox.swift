import Foundation
import WorkerBee
import WorkerBeeWire

/// A scratch folder and configurations for tests that run the real worker.
public struct WorkerSandbox: Sendable {
    /// The folder; the worker log goes here.
    public let directory: URL

    /// Creates an empty folder under the temporary directory.
    public init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-worker-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// A configuration whose worker logs into the sandbox, single-threaded, with generous start
    /// and embed timeouts (tests must pass on a slow, busy machine), and an optional fault.
    /// - Parameters:
    ///   - fault: `WORKERBEE_FAULT` for the worker.
    ///   - once: fire the fault only once across restarts.
    ///   - embedTimeout: the per-request embed timeout.
    public func configuration(fault: String? = nil, once: Bool = false, embedTimeout: Duration? = .seconds(120)) -> WorkerConfiguration {
        var environment: [String: String] = [:]
        if let fault { environment["WORKERBEE_FAULT"] = fault }
        if once { environment["WORKERBEE_FAULT_ONCE"] = directory.appendingPathComponent("fault-fired").path }
        return WorkerConfiguration(
            engine: .init(threads: 1), timeouts: .init(embed: embedTimeout, start: .seconds(120)),
            launch: .init(environment: environment, logDirectory: directory))
    }

    /// The worker log's text so far.
    public var log: String { (try? String(contentsOf: directory.appendingPathComponent("worker.log"), encoding: .utf8)) ?? "" }

    /// Waits until the worker log (`worker.log`, or `file`) contains `text`: the worker's own
    /// announcement that it reached a point, e.g. `request 2 started`.
    /// - Returns: false if `timeout` passed first.
    public func waitForLog(_ text: String, file: String = "worker.log", timeout: Duration = .seconds(60)) async -> Bool {
        let url = directory.appendingPathComponent(file)
        return await ProcessProbe.poll(timeout: timeout) {
            ((try? String(contentsOf: url, encoding: .utf8)) ?? "").contains(text)
        }
    }

    /// Deletes the folder.
    public func remove() { try? FileManager.default.removeItem(at: directory) }
}

/// The `workerbee` binary built next to the test bundle.
public var workerbeeExecutable: URL {
    get throws { try WorkerExecutable.locate() }
}

/// The repository root.
public let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
