import ArgumentParser
import Foundation
import WorkerBeeEngine
import WorkerBeeWire

struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run as a WorkerBee worker (started by the host; speaks the wire protocol on stdin/stdout).",
        shouldDisplay: false
    )

    @Option(help: "Worker settings as JSON.")
    var settings: String

    @Option(help: "The host's pid; the worker exits if its parent is not this process.")
    var parentPid: Int32?

    func run() throws {
        let parsed: WorkerSettings
        do {
            parsed = try WorkerSettings.parse(settings)
        } catch {
            throw ValidationError("--settings is not valid worker settings JSON: \(error)")
        }
        WorkerMain.run(settings: parsed, parentPID: parentPid)
    }
}
