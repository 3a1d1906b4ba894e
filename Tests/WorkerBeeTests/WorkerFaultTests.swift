import Foundation
import Synchronization
import Testing
import WorkerBeeTestSupport
import WorkerBeeWire

@testable import WorkerBee
import WorkerBeeFixtures

@Suite(.serialized, .timeLimit(.minutes(10))) struct WorkerFaultTests {
    @Test(arguments: ["segv", "abort", "exit", "exit-mid-frame", "garbage"])
    func oneLossIsRetriedOnAFreshWorker(fault: String) async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration(fault: "embed:\(fault)", once: true))
        let vectors = try await worker.embed(.texts(["survives a \(fault)"])).vectors
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
            _ = try await worker.embed(.texts(["always aborts"])).vectors
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
            _ = try await worker.embed(.texts(["never starts"])).vectors
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
        configuration.timeouts.start = .seconds(2)
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

    @Test func aHungRequestIsKilledWithinItsTimeoutAndRetriedOnAFreshWorker() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration(fault: "embed:hang", once: true, embedTimeout: .seconds(3)))
        try await worker.start()
        let hungPID = try #require(await worker.pid)
        var events = await worker.events().makeAsyncIterator()
        let started = ContinuousClock.now
        let vectors = try await worker.embed(.texts(["hangs once, then works"])).vectors
        #expect(vectors.count == 1 && vectors[0].count == 384)
        #expect(ContinuousClock.now - started >= .seconds(3), "the first attempt waited for its timeout")
        let lost = try #require(await events.next { $0.isLost() })
        #expect(lost == .lost(pid: hungPID, status: .signaled(SIGKILL), code: .timedOut))
        #expect(ProcessProbe.isGone(hungPID))
        #expect(await worker.pid != hungPID)
        #expect(await worker.restartCount == 1)
        await worker.stop()
    }

    @Test func aWorkerThatHangsEveryTimeFailsWithTimedOutAfterOneRetry() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration(fault: "embed:hang", embedTimeout: .seconds(2)))
        do {
            _ = try await worker.embed(.texts(["hangs"])).vectors
            Issue.record("a hung worker answered")
        } catch let error as WorkerError {
            #expect(error.code == .timedOut)
            #expect(error.exitStatus == .signaled(SIGKILL))
        }
        #expect(await worker.spawnCount == 2, "one retry, no more")
        #expect(await worker.isAlive == false)
    }

    @Test func aLateAnswerToAnEarlierRequestNeverReachesTheNextCaller() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let reference = WorkerProcess(configuration: sandbox.configuration())
        let expected = try await reference.embed(.texts(["the first caller's text", "the second caller's text"])).vectors
        await reference.stop()

        // Before answering the second request, the worker sends the first request's real answer
        // again under the first request's id: a plausible 384-float answer at the wrong time.
        let worker = WorkerProcess(configuration: sandbox.configuration(fault: "embed#2:late-answer"))
        let first = try await worker.embed(.texts(["the first caller's text"])).vectors[0]
        let second = try await worker.embed(.texts(["the second caller's text"])).vectors[0]
        #expect(first == expected[0])
        #expect(second == expected[1], "the second caller got its own answer")
        #expect(cosineSimilarity(second, expected[0]) < 0.99, "not the late answer to the first request")
        #expect(await worker.restartCount == 0)
        await worker.stop()
    }

    @Test func answerWithAStaleIdIsDiscarded() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration(fault: "embed:wrong-id"))
        let vectors = try await worker.embed(.texts(["only my own answer"])).vectors
        // The stale answer was a 1-dimensional [42]; the real one is 384-dimensional.
        #expect(vectors[0].count == 384)
        #expect(await worker.restartCount == 0)
        await worker.stop()
    }

    @Test func nativeOutputOnStdoutDoesNotCorruptTheProtocol() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration(fault: "embed:stdout-noise"))
        let vectors = try await worker.embed(.texts(["noise around me"])).vectors
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
        var events = await worker.events().makeAsyncIterator()
        let request = Task { try await worker.embed(.texts(["slow"])).vectors }
        _ = await events.next { $0.isSent() }
        #expect(await sandbox.waitForLog("fault injection: slow"), "the worker is inside the request")
        let started = ContinuousClock.now
        request.cancel()
        await #expect(throws: CancellationError.self) { try await request.value }
        // The fault sleeps 60 s: an answer well before that came from the cancel.
        #expect(ContinuousClock.now - started < .seconds(30))
        #expect(await worker.pid == pid)
        #expect(try await worker.embed(.texts(["next"])).vectors.count == 1)
        await worker.stop()
    }

    @Test func cancellingARealLlamaCppRunStopsItThroughTheAbortCallback() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        // One request of about 180,000 tokens: tens of seconds of llama.cpp work on an idle
        // machine, so the cancel lands inside the run however slow the machine is.
        var configuration = sandbox.configuration()
        configuration.requestLimit = EmbedRequestLimit(texts: 10_000, bytes: 8 << 20)
        let worker = WorkerProcess(configuration: configuration)
        try await worker.start()
        _ = try await worker.embed(.texts(["warm up"])).vectors
        let pid = await worker.pid
        let texts = (0..<3000).map { "a long text to keep llama.cpp busy for a while, number \($0), " + String(repeating: "more words ", count: 20) }
        var events = await worker.events().makeAsyncIterator()
        let request = Task { try await worker.embed(.texts(texts)).vectors }
        guard case .sent(let id, _, _) = try #require(await events.next { $0.isSent() }) else { return }
        #expect(await sandbox.waitForLog("request \(id) started:"))
        request.cancel()
        await #expect(throws: CancellationError.self) { try await request.value }
        // A worker that did not honour the cancel would have been killed after the grace period.
        #expect(await worker.pid == pid, "the worker honoured the cancel instead of being killed")
        // The worker's log reaches the file through the host's copy of its standard error, which
        // can land after the answer: wait for the line rather than read the file once.
        #expect(await sandbox.waitForLog("request \(id) failed: cancelled"), "llama.cpp's run was stopped, not finished")
        await worker.stop()
    }

    /// A request larger than the pipe's buffer (1 MiB of text) to a worker that never reads.
    private static let pipeFillingTexts = [String(repeating: "word ", count: 200_000)]

    @Test(.timeLimit(.minutes(1))) func aWriteToAWorkerThatStopsReadingEndsAtTheRequestsTimeout() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration(fault: "start:deaf", embedTimeout: .seconds(2)))
        do {
            _ = try await worker.tokenize(Self.pipeFillingTexts)
            Issue.record("a worker that reads nothing answered")
        } catch let error as WorkerError {
            #expect(error.code == .timedOut, "\(error)")
        }
        #expect(await worker.spawnCount == 2, "timed out, restarted once, timed out again")
        await worker.stop()
    }

    @Test(.timeLimit(.minutes(1))) func cancellingACallWhoseWriteIsBlockedEndsItAndKillsTheWorker() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration(fault: "start:deaf", embedTimeout: nil))
        try await worker.start()
        let pid = try #require(await worker.pid)
        #expect(await sandbox.waitForLog("fault injection: deaf"))
        var events = await worker.events().makeAsyncIterator()
        let request = Task { try await worker.tokenize(Self.pipeFillingTexts) }
        // The request goes out but its write cannot finish: the cancel lands inside the write.
        _ = await events.next { $0.isSent() }
        request.cancel()
        await #expect(throws: CancellationError.self) { try await request.value }
        #expect(ProcessProbe.isGone(pid), "a worker that cannot take a cancel is killed after the grace period")
        await worker.stop()
    }

    @Test func workerThatIgnoresACancelIsKilledAfterTheGracePeriod() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration(fault: "embed:hang"))
        try await worker.start()
        let pid = try #require(await worker.pid)
        var events = await worker.events().makeAsyncIterator()
        let request = Task { try await worker.embed(.texts(["ignores cancels"])).vectors }
        _ = await events.next { $0.isSent() }
        #expect(await sandbox.waitForLog("fault injection: hang"), "the worker is inside the request")
        request.cancel()
        await #expect(throws: CancellationError.self) { try await request.value }
        #expect(kill(pid, 0) == -1 && errno == ESRCH)
        await worker.stop()
    }

    @Test func aCancelledWaiterLeavesTheQueueAtOnceWithoutDisturbingOthers() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        // The first request takes 30 s unless cancelled, so the others wait behind it (once: a
        // worker replaced on a slow machine must not be slow again).
        let worker = WorkerProcess(configuration: sandbox.configuration(fault: "embed#1:slow=30", once: true))
        try await worker.start()
        var events = await worker.events().makeAsyncIterator()
        let firstDone = Mutex(false)
        let first = Task {
            defer { firstDone.withLock { $0 = true } }
            return try await worker.embed(.texts(["first"])).vectors
        }
        _ = await events.next { $0.isSent(items: 1) }
        // Sent is not started: on a busy machine the cancel below could reach the worker before
        // it picks the request up, and the slow fault would then hit the next request instead.
        #expect(await sandbox.waitForLog("fault injection: slow"), "the worker is inside the first request")
        let second = Task { try await worker.embed(.texts(["second", "second"])).vectors }
        _ = await events.next { $0 == .queued(waiting: 1) }
        let third = Task { try await worker.embed(.texts(["third", "third", "third"])).vectors }
        _ = await events.next { $0 == .queued(waiting: 2) }

        second.cancel()
        await #expect(throws: CancellationError.self) { try await second.value }
        #expect(firstDone.withLock { $0 } == false, "the cancelled waiter left while the first request still held the worker")

        first.cancel()
        await #expect(throws: CancellationError.self) { try await first.value }
        #expect(try await third.value.count == 3, "the caller behind the cancelled one is served")
        var sent: [Int] = []
        while let event = await events.next(where: { $0.isSent() || $0.isAnswered }) {
            if case .sent(_, _, let items) = event { sent.append(items) } else if !sent.isEmpty { break }
        }
        #expect(sent == [3], "the cancelled caller's request was never sent")
        await worker.stop()
    }
}
