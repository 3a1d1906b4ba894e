import Foundation
import Testing
import WorkerBeeWire

@testable import WorkerBee

@Suite(.serialized) struct WorkerProcessTests {
    @Test func firstRequestStartsTheWorkerLazily() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration())
        #expect(await worker.isAlive == false)
        let vectors = try await worker.embed(["hello world"])
        #expect(vectors.count == 1 && vectors[0].count == 384)
        #expect(await worker.isAlive)
        #expect(await worker.hello?.protocolVersion == WireProtocol.version)
        await worker.stop()
    }

    @Test func emptyListReturnsWithoutStartingAWorker() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration())
        #expect(try await worker.embed([]).isEmpty)
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
        let request = Task { try await worker.embed(["stuck"]) }
        try await Task.sleep(for: .milliseconds(300))
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
        let vectors = try await worker.embed(references.map { $0["text"] as! String })
        for (reference, vector) in zip(references, vectors) {
            let expected = (reference["embedding"] as! [NSNumber]).map(\.floatValue)
            #expect(cosineSimilarity(expected, vector) >= 0.9999)
        }
        await worker.stop()
    }

    @Test func concurrentCallersAreServedOneAtATimeWithTheirOwnAnswers() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration())
        let texts = (0..<12).map { "caller \($0) asks about topic \($0 * 7)" }
        let expected = try await worker.embed(texts)
        let answers = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
            for (index, text) in texts.enumerated() {
                group.addTask { (index, try await worker.embed([text])[0]) }
            }
            var answers: [Int: [Float]] = [:]
            for try await (index, vector) in group { answers[index] = vector }
            return answers
        }
        for (index, vector) in expected.enumerated() {
            #expect(cosineSimilarity(try #require(answers[index]), vector) > 0.99999)
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
            _ = try await worker.embed(["x"], model: "no-such-model")
            Issue.record("a missing model embedded")
        } catch let error as WorkerError {
            #expect(error.code == .modelNotFound)
            #expect(error.message.contains("no-such-model"))
        }
        #expect(await worker.pid == pid)
        #expect(try await worker.embed(["still works"]).count == 1)
        await worker.stop()
    }

    @Test func dimensionMismatchIsAClearError() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        var configuration = sandbox.configuration()
        configuration.embeddingDimension = 768
        let worker = WorkerProcess(configuration: configuration)
        do {
            _ = try await worker.embed(["x"])
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
        try await worker.loadModel(ModelDirectory.defaultEmbeddingModel, kind: .embedding)
        #expect(sandbox.log.contains("loaded embedding model"))
        try await worker.unloadModel(kind: .embedding)
        #expect(sandbox.log.contains("(unload)"))
        do {
            try await worker.loadModel("no-such-model", kind: .embedding)
            Issue.record("loading a missing model was acknowledged")
        } catch let error as WorkerError {
            #expect(error.code == .modelNotFound)
        }
        #expect(try await worker.embed(["after loads"]).count == 1)
        await worker.stop()
    }

    @Test func visionWithoutAModelIsDisabled() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration())
        do {
            _ = try await worker.visionOCR(image: Data([0x89, 0x50, 0x4E, 0x47]))
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
        configuration.executable = URL(fileURLWithPath: "/nonexistent/workerbee")
        let worker = WorkerProcess(configuration: configuration)
        do {
            try await worker.start()
            Issue.record("a missing executable started")
        } catch let error as WorkerError {
            #expect(error.code == .spawnFailed)
        }
    }
}
