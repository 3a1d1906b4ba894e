import Foundation
import Synchronization
import Testing
import WorkerBeeTestSupport
import WorkerBeeWire

@testable import WorkerBee

@Suite(.serialized, .timeLimit(.minutes(10))) struct WorkerPoolTests {
    @Test func poolEmbedsAcrossWorkersInInputOrder() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let texts = (0..<60).map { "pool text \($0) " + String(repeating: "and more ", count: $0 % 11) }
        let single = WorkerProcess(configuration: sandbox.configuration())
        let expected = try await single.embed(.texts(texts)).vectors
        await single.stop()
        let pool = WorkerPool(configuration: sandbox.configuration(), processes: 2, threadsPerProcess: 1)
        let result = try await pool.embed(.texts(texts)).result
        #expect(result.count == 60)
        for (vector, reference) in zip(result.vectors, expected) { #expect(vector == reference) }
        #expect(await pool.statistics.pids.count == 2)
        await pool.stop()
        #expect(await pool.statistics.pids.isEmpty)
    }

    @Test func aCrashInOneWorkerDoesNotDisturbTheOthers() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let pool = WorkerPool(configuration: sandbox.configuration(fault: "embed-text=BOOM:abort"), processes: 2, threadsPerProcess: 1)
        try await pool.start()
        let before = Set(await pool.statistics.pids)
        #expect(before.count == 2)
        await #expect(throws: WorkerError.self) { try await pool.embed(.texts(["BOOM"])).vectors }
        let after = Set(await pool.statistics.pids)
        // The worker that held BOOM died twice; the other one is the same process, still running.
        #expect(before.intersection(after).count == 1)
        #expect(try await pool.embed(.texts((0..<20).map { "fine \($0)" })).vectors.count == 20)
        await pool.stop()
    }

    @Test func oneCallsLostWorkersDoNotShrinkAnotherCallsRequests() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let pool = WorkerPool(configuration: sandbox.configuration(fault: "embed-text=BOOM:abort"), processes: 2, threadsPerProcess: 1)
        let poisoned = try await pool.embed(.texts(["BOOM"]), options: EmbedOptions(poisonTexts: .report))
        #expect(poisoned.failedIndexes == [0], "BOOM lost its worker twice")
        final class Sizes: Sendable { let items = Mutex<[Int]>([]) }
        let sizes = Sizes()
        var watchers: [Task<Void, Never>] = []
        for worker in pool.workers {
            let events = await worker.events()
            watchers.append(Task {
                for await event in events {
                    if case .sent(_, _, let items) = event { sizes.items.withLock { $0.append(items) } }
                }
            })
        }
        _ = try await pool.embed(.texts((0..<64).map { "clean text \($0)" })).vectors
        #expect(await ProcessProbe.poll { sizes.items.withLock { $0.reduce(0, +) } == 64 })
        for watcher in watchers { watcher.cancel() }
        // A fresh call is cut as if it were the first: one piece per worker, whatever an
        // earlier call lost.
        #expect(sizes.items.withLock { $0 } == [32, 32])
        await pool.stop()
    }

    @Test func workersLogToTheirOwnFiles() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let pool = WorkerPool(configuration: sandbox.configuration(), processes: 2, threadsPerProcess: 1)
        try await pool.start()
        await pool.stop()
        for index in 1...2 {
            #expect(FileManager.default.fileExists(atPath: sandbox.directory.appendingPathComponent("worker-\(index).log").path))
        }
    }
}
