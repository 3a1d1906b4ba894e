import Foundation
import Synchronization
import Testing
import WorkerBeeTestSupport

@testable import WorkerBee

/// Helper programs (poppler's tools, the `workerbee` binary in tests) are bounded: one that runs
/// past its time, or whose caller gives up, is killed and reaped rather than waited for forever.
/// The program that never ends by itself here is `tail -f /dev/null`.
@Suite(.timeLimit(.minutes(5))) struct ExternalProgramTests {
    @Test func aProgramPastItsTimeoutIsLookedAtWhileRunningThenKilled() async throws {
        let seenRunning = Mutex<Int32?>(nil)
        let started = Mutex<Int32?>(nil)
        await #expect(throws: WorkerError.self) {
            _ = try await ExternalProgram.run(
                URL(fileURLWithPath: "/usr/bin/tail"), arguments: ["-f", "/dev/null"], timeout: .seconds(1),
                onStart: { pid in started.withLock { $0 = pid } },
                onTimeout: { pid in seenRunning.withLock { $0 = ProcessProbe.isGone(pid) ? nil : pid } })
        }
        let pid = try #require(started.withLock { $0 })
        #expect(seenRunning.withLock { $0 } == pid, "the timeout hook ran while the program was still there")
        #expect(ProcessProbe.isGone(pid), "the program was killed and reaped")
    }

    @Test func theTimeoutErrorSaysWhichProgramAndHowLong() async throws {
        do {
            _ = try await ExternalProgram.run(URL(fileURLWithPath: "/usr/bin/tail"), arguments: ["-f", "/dev/null"], timeout: .seconds(1))
            Issue.record("tail -f /dev/null finished")
        } catch let error as WorkerError {
            #expect(error.code == .timedOut)
            #expect(error.message.contains("tail did not finish within 1.0 seconds; it was killed"), "\(error.message)")
        }
    }

    @Test func cancellingTheCallerKillsTheProgram() async throws {
        let (pids, announce) = AsyncStream<Int32>.makeStream()
        let run = Task {
            try await ExternalProgram.run(URL(fileURLWithPath: "/usr/bin/tail"), arguments: ["-f", "/dev/null"], onStart: { announce.yield($0) })
        }
        var iterator = pids.makeAsyncIterator()
        let pid = try #require(await iterator.next())
        run.cancel()
        await #expect(throws: CancellationError.self) { _ = try await run.value }
        #expect(ProcessProbe.isGone(pid), "the program was killed and reaped")
    }
}
