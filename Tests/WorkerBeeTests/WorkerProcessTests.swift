import Foundation
import Testing
import WorkerBeeTestSupport
import WorkerBeeWire

@testable import WorkerBee
import WorkerBeeFixtures
import WorkerBeeModels

@Suite(.serialized, .timeLimit(.minutes(10))) struct WorkerProcessTests {
    @Test func startingWhileACallStartsTheWorkerSpawnsOneWorker() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration())
        try await withCleanup({ await worker.stop() }) {
            // A server starts its pool as a service while its warm-up sends the first request.
            async let started: Void = worker.start()
            async let vectors = worker.embed(["hello"])
            _ = try await (started, vectors)
            #expect(await worker.spawnCount == 1, "one worker, not one per caller")
        }
    }

    @Test func firstRequestStartsTheWorkerLazily() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration())
        #expect(await worker.isAlive == false)
        let vectors = try await worker.embed(.texts(["hello world"])).vectors
        #expect(vectors.count == 1 && vectors[0].count == 384)
        #expect(await worker.isAlive)
        #expect(await worker.hello?.protocolVersion == WireProtocol.version)
        await worker.stop()
    }

    @Test func emptyListReturnsWithoutStartingAWorker() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration())
        #expect(try await worker.embed(.texts([])).vectors.isEmpty)
        #expect(await worker.spawnCount == 0)
    }

    @Test func startIsANoOpWhenAlive() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration())
        try await worker.start()
        let pid = await worker.pid
        try await worker.start()
        #expect(await worker.pid == pid)
        #expect(await worker.spawnCount == 1)
        await worker.stop()
    }

    @Test func stopReapsTheWorkerAndLeavesNoZombie() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration())
        try await worker.start()
        let pid = try #require(await worker.pid)
        await worker.stop()
        #expect(await worker.isAlive == false)
        // Reaped: the pid no longer exists at all (a zombie would still answer kill(pid, 0)).
        #expect(kill(pid, 0) == -1 && errno == ESRCH)
    }

    @Test func stopKillsAWorkerThatIgnoresShutdownAndFailsItsRequest() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration(fault: "embed:hang"))
        try await worker.start()
        let pid = try #require(await worker.pid)
        var events = await worker.events().makeAsyncIterator()
        let request = Task { try await worker.embed(.texts(["stuck"])).vectors }
        _ = await events.next { $0.isSent() }
        let started = ContinuousClock.now
        await worker.stop()
        #expect(ContinuousClock.now - started < .seconds(20))
        #expect(kill(pid, 0) == -1 && errno == ESRCH)
        do {
            _ = try await request.value
            Issue.record("a request survived stop()")
        } catch let error as WorkerError {
            #expect(error.code == .stopped)
        }
    }

    @Test func restartGivesANewWorker() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration())
        try await worker.start()
        let first = await worker.pid
        try await worker.restart()
        let second = await worker.pid
        #expect(first != nil && second != nil && first != second)
        await worker.stop()
    }

    @Test func workerVectorsMatchTheReference() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration())
        let data = try Data(contentsOf: repositoryRoot.appendingPathComponent("Tests/Fixtures/minilm-reference.jsonl"))
        let references = try data.split(separator: UInt8(ascii: "\n")).map { try JSONSerialization.jsonObject(with: Data($0)) as! [String: Any] }
        let vectors = try await worker.embed(.texts(references.map { $0["text"] as! String })).vectors
        for (reference, vector) in zip(references, vectors) {
            let expected = (reference["embedding"] as! [NSNumber]).map(\.floatValue)
            #expect(cosineSimilarity(expected, vector) >= 0.9999)
        }
        await worker.stop()
    }

    @Test func concurrentCallersAreServedOneAtATimeInArrivalOrderWithTheirOwnAnswers() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let texts = (0..<6).map { "caller \($0) asks about topic \($0 * 7)" }
        let reference = WorkerProcess(configuration: sandbox.configuration())
        let expected = try await reference.embed(.texts(texts)).vectors
        await reference.stop()

        // The first request is slow, so the others queue up behind it.
        let worker = WorkerProcess(configuration: sandbox.configuration(fault: "embed#1:slow=2"))
        try await worker.start()
        var events = await worker.events().makeAsyncIterator()
        var callers: [Task<[[Float]], any Error>] = []
        var order: [Int] = []
        var outstanding = false
        // Every request sent and answered, in the order the worker saw them.
        func record(_ event: WorkerEvent) {
            if case .sent(_, _, let items) = event {
                #expect(!outstanding, "a request was sent while another was in flight")
                order.append(items)
                outstanding = true
            } else if event.isAnswered {
                outstanding = false
            }
        }
        for (index, text) in texts.enumerated() {
            // Caller k sends its text k+1 times, so its request can be told apart by its size.
            let batch = Array(repeating: text, count: index + 1)
            callers.append(Task { try await worker.embed(.texts(batch)).vectors })
            // Launch the next caller only once this one has arrived (queued, or already sent).
            while let event = await events.next() {
                record(event)
                if event.isQueued || event.isSent(items: index + 1) { break }
            }
        }
        while order.count < texts.count || outstanding, let event = await events.next() {
            record(event)
        }
        #expect(order == [1, 2, 3, 4, 5, 6], "requests went out in arrival order")
        for (index, caller) in callers.enumerated() {
            let vectors = try await caller.value
            #expect(vectors.count == index + 1)
            #expect(vectors.allSatisfy { $0 == expected[index] })
        }
        #expect(await worker.spawnCount == 1)
        await worker.stop()
    }

    @Test func workerReportedErrorIsThrownAndTheWorkerStaysUp() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration())
        try await worker.start()
        let pid = await worker.pid
        do {
            _ = try await worker.embed(.texts(["x"]), options: EmbedOptions(model: "no-such-model")).vectors
            Issue.record("a missing model embedded")
        } catch let error as WorkerError {
            #expect(error.code == .modelNotFound)
            #expect(error.message.contains("no-such-model"))
        }
        #expect(await worker.pid == pid)
        #expect(try await worker.embed(.texts(["still works"])).vectors.count == 1)
        await worker.stop()
    }

    @Test func dimensionMismatchIsAClearError() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        var configuration = sandbox.configuration()
        configuration.models.embeddingDimension = 768
        let worker = WorkerProcess(configuration: configuration)
        do {
            _ = try await worker.embed(.texts(["x"])).vectors
            Issue.record("a 384-dimensional model passed a 768 check")
        } catch let error as WorkerError {
            #expect(error.code == .dimensionMismatch)
            #expect(error.message.contains("384") && error.message.contains("768"))
        }
        await worker.stop()
    }

    @Test func loadModelWaitsForTheWorkersAcknowledgement() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration())
        try await worker.loadModel(ModelReference(ModelDirectory.defaultEmbeddingModel), kind: .embedding)
        // The worker's stderr reaches the log file through a pump, so its lines are waited for.
        #expect(await sandbox.waitForLog("loaded and probed embedding model"))
        try await worker.unloadModel(kind: .embedding)
        #expect(await sandbox.waitForLog("(unload)"))
        do {
            try await worker.loadModel("no-such-model", kind: .embedding)
            Issue.record("loading a missing model was acknowledged")
        } catch let error as WorkerError {
            #expect(error.code == .modelNotFound)
        }
        #expect(try await worker.embed(.texts(["after loads"])).vectors.count == 1)
        await worker.stop()
    }

    @Test func visionWithoutAModelIsDisabled() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration())
        do {
            _ = try await worker.readText(in: Data([0x89, 0x50, 0x4E, 0x47]), engine: .vision()).text
            Issue.record("vision ran without a model")
        } catch let error as WorkerError {
            #expect(error.code == .visionDisabled)
        }
        await worker.stop()
    }

    @Test func missingExecutableIsASpawnFailure() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        var configuration = sandbox.configuration()
        configuration.launch.executable = URL(fileURLWithPath: "/nonexistent/workerbee")
        let worker = WorkerProcess(configuration: configuration)
        do {
            try await worker.start()
            Issue.record("a missing executable started")
        } catch let error as WorkerError {
            #expect(error.code == .spawnFailed)
        }
    }
}
