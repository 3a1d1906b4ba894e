import ArgumentParser

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run as a WorkerBee worker (started by the host; speaks the wire protocol on stdin/stdout).",
        shouldDisplay: false
    )

    @Option(help: "Worker settings as JSON.")
    var settings: String

    func run() async throws {
        throw ValidationError("not yet")
    }
}
