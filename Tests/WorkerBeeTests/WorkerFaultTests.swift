import Foundation
import Testing
import WorkerBeeWire

@testable import WorkerBee

@Suite(.serialized) struct WorkerFaultTests {
    @Test(arguments: ["segv", "abort", "exit", "exit-mid-frame", "garbage"])
    func oneLossIsRetriedOnAFreshWorker(fault: String) async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration(fault: "embed:\(fault)", once: true))
        let vectors = try await worker.embed(["survives a \(fault)"])
        #expect(vectors.count == 1 && vectors[0].count == 384)
        #expect(await worker.restartCount == 1)
        #expect(await worker.spawnCount == 2)
        await worker.stop()
    }

    @Test func crashingTwiceFailsWithTheSignalAndTheLogTail() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration(fault: "embed:abort"))
        do {
            _ = try await worker.embed(["always aborts"])
            Issue.record("a worker that always aborts answered")
        } catch let error as WorkerError {
            #expect(error.code == .crashed)
            #expect(error.exitStatus == .signaled(SIGABRT))
            #expect(error.logTail?.contains("fault injection: abort") == true)
            #expect(error.description.contains("SIGABRT"))
        }
        #expect(await worker.spawnCount == 2)
        #expect(await worker.isAlive == false)
    }

    @Test func crashWhileStartingReportsTheExitStatus() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration(fault: "start:exit"))
        do {
            _ = try await worker.embed(["never starts"])
            Issue.record("a worker that exits at start answered")
        } catch let error as WorkerError {
            #expect(error.code == .crashed)
            #expect(error.exitStatus == .exited(3))
        }
    }

    @Test func workerThatNeverSaysHelloTimesOutAndIsKilled() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        var configuration = sandbox.configuration(fault: "start:hang")
        configuration.startTimeout = .seconds(2)
        let worker = WorkerProcess(configuration: configuration)
        do {
            try await worker.start()
            Issue.record("a worker that hangs at start started")
        } catch let error as WorkerError {
            #expect(error.code == .timedOut)
            #expect(error.exitStatus == .signaled(SIGKILL))
        }
        #expect(await worker.isAlive == false)
    }

    @Test func timeoutKillsTheWorkerAndTheNextCallGetsAFreshOne() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration(fault: "embed:hang", once: true, embedTimeout: .seconds(3)))
        try await worker.start()
        let hungPID = try #require(await worker.pid)
        do {
            _ = try await worker.embed(["hangs"])
            Issue.record("a hung worker answered")
        } catch let error as WorkerError {
            #expect(error.code == .timedOut)
        }
        #expect(kill(hungPID, 0) == -1 && errno == ESRCH)
        let vectors = try await worker.embed(["works again"])
        #expect(vectors.count == 1)
        #expect(await worker.pid != hungPID)
        await worker.stop()
    }

    @Test func lateAnswerToATimedOutRequestNeverReachesTheNextCaller() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let reference = WorkerProcess(configuration: sandbox.configuration())
        let expected = try await reference.embed(["the second caller's text"])[0]
        await reference.stop()

        let worker = WorkerProcess(configuration: sandbox.configuration(fault: "embed:slow=8", once: true, embedTimeout: .seconds(3)))
        await #expect(throws: WorkerError.self) { try await worker.embed(["the first caller's text"]) }
        let vector = try await worker.embed(["the second caller's text"])[0]
        #expect(cosineSimilarity(vector, expected) > 0.99999)
        await worker.stop()
    }

    @Test func answerWithAStaleIdIsDiscarded() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration(fault: "embed:wrong-id"))
        let vectors = try await worker.embed(["only my own answer"])
        // The stale answer was a 1-dimensional [42]; the real one is 384-dimensional.
        #expect(vectors[0].count == 384)
        #expect(await worker.restartCount == 0)
        await worker.stop()
    }

    @Test func nativeOutputOnStdoutDoesNotCorruptTheProtocol() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration(fault: "embed:stdout-noise"))
        let vectors = try await worker.embed(["noise around me"])
        #expect(vectors[0].count == 384)
        #expect(await worker.restartCount == 0)
        #expect(sandbox.log.contains("native code says hello on stdout"))
        #expect(sandbox.log.contains("raw write to fd 1"))
        await worker.stop()
    }

    @Test func cancellingAStuckRequestAnswersPromptlyAndKeepsTheWorker() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration(fault: "embed#1:slow=60"))
        try await worker.start()
        let pid = await worker.pid
        let request = Task { try await worker.embed(["slow"]) }
        try await Task.sleep(for: .milliseconds(300))
        let started = ContinuousClock.now
        request.cancel()
        await #expect(throws: CancellationError.self) { try await request.value }
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(await worker.pid == pid)
        #expect(try await worker.embed(["next"]).count == 1)
        await worker.stop()
    }

    @Test func cancellingARealLlamaCppRunStopsItThroughTheAbortCallback() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration())
        try await worker.start()
        _ = try await worker.embed(["warm up"])
        let pid = await worker.pid
        let texts = (0..<3000).map { "a long text to keep llama.cpp busy for a while, number \($0), " + String(repeating: "more words ", count: 20) }
        let request = Task { try await worker.embed(texts) }
        try await Task.sleep(for: .milliseconds(500))
        let started = ContinuousClock.now
        request.cancel()
        await #expect(throws: CancellationError.self) { try await request.value }
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(await worker.pid == pid, "the worker honoured the cancel instead of being killed")
        #expect(sandbox.log.contains("cancelled"))
        await worker.stop()
    }

    @Test func workerThatIgnoresACancelIsKilledAfterTheGracePeriod() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration(fault: "embed:hang"))
        try await worker.start()
        let pid = try #require(await worker.pid)
        let request = Task { try await worker.embed(["ignores cancels"]) }
        try await Task.sleep(for: .milliseconds(300))
        request.cancel()
        await #expect(throws: CancellationError.self) { try await request.value }
        #expect(kill(pid, 0) == -1 && errno == ESRCH)
        await worker.stop()
    }

    @Test func cancelledWaiterLeavesTheQueueWithoutDisturbingOthers() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration(fault: "embed#1:slow=2"))
        let first = Task { try await worker.embed(["first"]) }
        try await Task.sleep(for: .milliseconds(200))
        let second = Task { try await worker.embed(["second"]) }
        try await Task.sleep(for: .milliseconds(100))
        second.cancel()
        await #expect(throws: CancellationError.self) { try await second.value }
        #expect(try await first.value.count == 1)
        await worker.stop()
    }
}
