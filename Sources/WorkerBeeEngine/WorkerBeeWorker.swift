import Foundation
import WorkerBeeWire

/// Lets an app be its own worker, as Ollama's binary is its own runner: call
/// ``runIfRequested(arguments:environment:)`` first thing in `main`.
///
/// ```swift
/// import WorkerBee
/// import WorkerBeeEngine
///
/// WorkerBeeWorker.runIfRequested()   // becomes the worker when the host starts this program as one
/// let worker = WorkerProcess()       // finds this program as its worker executable
/// print(try await worker.embed(["hello"]))
/// ```
///
/// The crash isolation is the same as with a separate `workerbee` binary (the worker is still
/// another process); what changes is that the app links llama.cpp (and so ships its libraries),
/// and needs no second executable installed beside it.
public enum WorkerBeeWorker {
    /// Turns this process into a worker, never to return, when the host started it as one (its
    /// arguments are `worker --settings ...` and `WORKERBEE_WORKER=1` is set); otherwise records
    /// that this program can be its own worker and returns at once.
    public static func runIfRequested(
        arguments: [String] = CommandLine.arguments, environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        WorkerInvocation.declareRunningProgramWorkerCapable()
        guard environment[WorkerInvocation.environmentKey] == "1", let invocation = WorkerInvocation.parse(arguments) else { return }
        let settings: WorkerSettings
        do {
            settings = try WorkerSettings.parse(invocation.settings)
        } catch {
            FileHandle.standardError.write(Data("workerbee worker: --settings is not valid worker settings JSON: \(error)\n".utf8))
            exit(64)
        }
        WorkerMain.run(settings: settings, parentPID: invocation.parentPID)
    }
}
