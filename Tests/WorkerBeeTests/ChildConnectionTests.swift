import Foundation
import Testing

@testable import WorkerBee

/// The host's side of a child's pipes and exit, under churn: children that come and go as fast
/// as they can, which is what a crash loop or a kill storm does to the pool.
@Suite(.timeLimit(.minutes(5))) struct ChildConnectionTests {
    /// A child that writes a little and exits at once, many times over, four at a time. Each one's
    /// output must end (end of stream, never a hang), its exit must arrive as an event with its
    /// own status, and the host must still be standing. (Reading the pipes through a dispatch
    /// read source crashed the host inside libdispatch now and then under exactly this churn.)
    @Test func childrenThatComeAndGoAtFullSpeedAreAllSeenToEndAndReaped() async throws {
        let null = open("/dev/null", O_WRONLY | O_CLOEXEC)
        #expect(null >= 0)
        defer { close(null) }
        let rounds = 2_000
        let statuses = try await withThrowingTaskGroup(of: WorkerBee.ExitStatus?.self) { group in
            var statuses: [WorkerBee.ExitStatus?] = []
            for round in 0..<rounds {
                if round >= 4, let status = try await group.next() { statuses.append(status) }
                group.addTask {
                    let child = try await ChildProcess.spawnWorker(
                        executable: "/bin/sh", arguments: ["-c", "printf garbage; exit \(round % 7)"], environment: [:], logFD: null)
                    let connection = ChildConnection(process: child.process, requestFD: child.requestFD, responseFD: child.responseFD, logger: .init(label: "test"))
                    await #expect(throws: (any Error).self) { try await connection.awaitHello() }
                    let status = await child.process.waitForExit(timeout: .seconds(60))
                    connection.close()
                    return status
                }
            }
            for try await status in group { statuses.append(status) }
            return statuses
        }
        #expect(statuses.count == rounds)
        for code in 0..<7 {
            let seen = statuses.filter { $0 == .exited(Int32(code)) }.count
            #expect(seen == (0..<rounds).filter { $0 % 7 == code }.count, "exit code \(code)")
        }
    }
}
