import Foundation
import Testing
import WorkerBeeWire

@testable import WorkerBee

/// A scratch data directory and configurations for tests that run the real worker.
struct WorkerSandbox {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-worker-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// A configuration whose worker logs into the sandbox, with an optional injected fault.
    /// - Parameters:
    ///   - fault: `WORKERBEE_FAULT` for the worker.
    ///   - once: fire the fault only once across restarts.
    func configuration(fault: String? = nil, once: Bool = false, embedTimeout: Duration? = .seconds(120)) -> WorkerConfiguration {
        var environment: [String: String] = [:]
        if let fault { environment["WORKERBEE_FAULT"] = fault }
        if once { environment["WORKERBEE_FAULT_ONCE"] = directory.appendingPathComponent("fault-fired").path }
        return WorkerConfiguration(threads: 1, dataDirectory: directory, embedTimeout: embedTimeout, startTimeout: .seconds(120), environment: environment)
    }

    var log: String { (try? String(contentsOf: directory.appendingPathComponent("worker.log"), encoding: .utf8)) ?? "" }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}

/// Whether `pid` is gone (or a zombie nobody has reaped yet, which runs nothing).
func processIsGone(_ pid: Int32) -> Bool {
    if kill(pid, 0) != 0 && errno == ESRCH { return true }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
    let state = stat.split(separator: ")").last?.split(separator: " ").first
    return state == "Z" || state == "X"
}

/// Polls `condition` until it holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(10), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}


/// The `workerbee` binary built next to the test bundle.
var workerbeeExecutable: URL {
    get throws { try WorkerConfiguration().resolvedExecutable() }
}

/// The repository root.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
