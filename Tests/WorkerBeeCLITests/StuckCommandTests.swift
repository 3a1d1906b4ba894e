import Foundation
import Synchronization
import Testing
import WorkerBee
import WorkerBeeTestSupport

/// A stuck command fails its test with where it was stuck, instead of stalling the suite.
@Suite(.timeLimit(.minutes(5))) struct StuckCommandTests {
    @Test func aCommandPastItsTimeIsStoppedWithTheStacksOfItsThreads() async throws {
        // The worker hangs in its first embed; the host waits for it (its embed timeout is 30 s).
        // 15 s leaves a loaded machine time to start the worker before the command is stopped.
        let started = Mutex<Int32?>(nil)
        do {
            _ = try await CommandRun.run(
                ["embed", "a text"], environment: ["WORKERBEE_FAULT": "embed:hang"], timeout: .seconds(15),
                onStart: { pid in started.withLock { $0 = pid } })
            Issue.record("the command finished although its worker hangs")
        } catch let stuck as StuckProgram {
            #expect(stuck.description.contains("did not finish within 15.0 seconds"), "\(stuck.description.prefix(300))")
            // The report names the host and its worker and shows their threads' stacks.
            #expect(stuck.report.contains("== processes under"), "\(stuck.report.prefix(2000))")
            #expect(stuck.report.components(separatedBy: "== stacks of ").count >= 3, "host and worker: \(stuck.report.prefix(2000))")
            #expect(stuck.report.contains("#0 ") || stuck.report.contains("frame #0"), "\(stuck.report.prefix(2000))")
        }
        let host = try #require(started.withLock { $0 })
        #expect(ProcessProbe.isGone(host))
    }
}
