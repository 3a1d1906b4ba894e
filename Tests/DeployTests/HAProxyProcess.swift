import AsyncHTTPClient
import Foundation
import NIOCore
import WorkerBee
import WorkerBeeTestSupport

/// haproxy running the shipped `deploy/haproxy/haproxy.cfg` as it is, with the addresses it reads
/// from the environment pointing at loopback ports.
struct HAProxyProcess {
    /// The port clients send requests to.
    let port: Int
    /// The port of its statistics page.
    let statsPort: Int
    let pid: Int32
    private let exit: Task<ExternalProgram.Output, any Error>

    /// Starts haproxy in the foreground in front of `servers` (loopback ports).
    static func start(servers: [Int]) async throws -> HAProxyProcess {
        guard let haproxy = ExternalProgram.find("haproxy") ?? ExternalProgram.find("haproxy", path: "/usr/sbin:/usr/local/sbin") else {
            throw FleetError("haproxy is not installed (scripts/test installs it: apt-get install haproxy, brew install haproxy)")
        }
        let port = try freeLoopbackPort(), statsPort = try freeLoopbackPort()
        var environment = ["WORKERBEE_LISTEN": "127.0.0.1:\(port)", "WORKERBEE_HAPROXY_STATS": "127.0.0.1:\(statsPort)"]
        for (index, server) in servers.enumerated() { environment["WORKERBEE_SERVER_\(index + 1)"] = "127.0.0.1:\(server)" }
        let configuration = repositoryRoot.appendingPathComponent("deploy/haproxy/haproxy.cfg").path
        let (pids, announce) = AsyncStream<Int32>.makeStream()
        let exit = Task {
            defer { announce.finish() }
            return try await ExternalProgram.run(haproxy, arguments: ["-db", "-f", configuration], environment: environment, onStart: { announce.yield($0) })
        }
        var iterator = pids.makeAsyncIterator()
        guard let pid = await iterator.next() else { throw FleetError("haproxy did not start: \(String(describing: await exit.result))") }
        return HAProxyProcess(port: port, statsPort: statsPort, pid: pid, exit: exit)
    }

    /// The backend's rows of `/stats;csv`: each server's state and the backend's retry counts.
    func statistics(client: HTTPClient) async throws -> HAProxyStatistics {
        let response = try await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(statsPort)/stats;csv"), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        return HAProxyStatistics(csv: String(buffer: body))
    }

    /// Waits until haproxy's health checks see every server up (its checks poll each `/ready`).
    func waitUntilEveryServerIsUp(client: HTTPClient, timeout: Duration = .seconds(120)) async throws {
        let up = await ProcessProbe.poll(timeout: timeout) {
            guard let statistics = try? await statistics(client: client) else { return false }
            return !statistics.serverStates.isEmpty && statistics.serverStates.values.allSatisfy { $0 == "UP" }
        }
        if !up { throw FleetError("haproxy did not see every server up within \(timeout): \((try? await statistics(client: client).serverStates) ?? [:])") }
    }

    /// Stops haproxy (SIGTERM) and returns what it logged: one line per request.
    func stop() async -> String {
        kill(pid, SIGTERM)
        guard let output = try? await exit.value else { return "" }
        return String(decoding: output.stdout + output.stderr, as: UTF8.self)
    }
}
