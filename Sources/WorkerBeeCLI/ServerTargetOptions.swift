import ArgumentParser
import Foundation

/// `workerbee embed --server URL ...`: send the job to running servers instead of local workers.
struct ServerTargetOptions: ParsableArguments {
    @Option(name: .customLong("server"), help: ArgumentHelp("Send the texts to this server instead of local workers, e.g. http://10.0.0.5:8080 (repeat for several; --model names the server's model).", valueName: "url"))
    var servers: [String] = []

    @Option(help: "With --server: the bearer token the servers require (default: $WORKERBEE_API_KEY).")
    var apiKey: String?

    @Option(help: "With --server: seconds to keep trying when no server answers before the job stops.")
    var giveUpAfter: Double = 60

    @Option(help: "With --server: pieces of --batch-size texts in flight at once (default: 2 per --server; raise it for a load balancer in front of several servers).")
    var inFlight: Int?

    /// Whether the job goes to servers.
    var isEnabled: Bool { !servers.isEmpty }

    func validate() throws {
        for server in servers where URL(string: server)?.host == nil || !(server.hasPrefix("http://") || server.hasPrefix("https://")) {
            throw ValidationError("--server \(server) is not an http:// or https:// address")
        }
        if giveUpAfter <= 0 { throw ValidationError("--give-up-after must be more than 0 seconds") }
        if let inFlight, inFlight < 1 { throw ValidationError("--in-flight must be at least 1") }
    }

    /// The servers these options name, asked for `model`'s vectors.
    func makeServers(model: String, normalize: Bool, promptName: String?) -> EmbeddingServers {
        let key = apiKey ?? ProcessInfo.processInfo.environment["WORKERBEE_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        return EmbeddingServers(
            endpoints: servers.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 },
            request: .init(model: model, normalize: normalize, promptName: promptName, apiKey: key),
            concurrency: pieces, giveUpAfter: .milliseconds(Int(giveUpAfter * 1000)))
    }

    /// Pieces in flight at once.
    var pieces: Int { inFlight ?? 2 * servers.count }
}
