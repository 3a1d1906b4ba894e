import Foundation
import GGUF
import Testing
import WorkerBeeFixtures
import WorkerBeeTestSupport
import WorkerBeeWire

@testable import WorkerBee

/// Several generated tiny models served by one registry, each in real worker processes.
@Suite(.timeLimit(.minutes(5))) struct ModelPoolsTests {
    /// A sandbox whose models folder holds tiny BERT models `tiny-a`, `tiny-b`, ... (different
    /// weights each).
    struct Models {
        let sandbox: WorkerSandbox
        let folder: URL

        init(count: Int = 2) throws {
            sandbox = try WorkerSandbox()
            folder = sandbox.directory.appendingPathComponent("models")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for index in 0..<count {
                let source = sandbox.directory.appendingPathComponent("source-\(index)")
                try TinyModels.writeSentenceTransformersBERT(to: source, seed: UInt64(100 + index))
                try SentenceTransformersConverter.convert(directory: source, to: folder.appendingPathComponent("\(Self.name(index)).gguf"))
            }
        }

        static func name(_ index: Int) -> ModelReference { ModelReference("tiny-" + String(UnicodeScalar(UInt8(97 + index)))) }

        func configuration(fault: String? = nil) -> WorkerConfiguration {
            var configuration = sandbox.configuration(fault: fault)
            configuration.models.directory = folder
            configuration.models.embedding = Self.name(0)
            return configuration
        }

        /// The vectors one worker of `model` alone gives for `texts`.
        func reference(_ texts: [String], model: ModelReference) async throws -> [[Float]] {
            var configuration = configuration()
            configuration.models.embedding = model
            let worker = WorkerProcess(configuration: configuration)
            return try await withCleanup({ await worker.stop() }) { try await worker.embed(.texts(texts)).vectors }
        }
    }

    static let texts = ["hello world", "the worker bee", "a vector text", "embed the bees"]

    @Test func callsThatAlternateBetweenTwoModelsEachGetTheirOwnModelsVectors() async throws {
        let models = try Models()
        defer { models.sandbox.remove() }
        let expectedA = try await models.reference(Self.texts, model: Models.name(0))
        let expectedB = try await models.reference(Self.texts, model: Models.name(1))
        #expect(expectedA != expectedB, "the two models differ")
        let registry = ModelPools(configuration: models.configuration(), processes: 1, threadsPerProcess: 1)
        try await withCleanup({ await registry.stop() }) {
            for round in 0..<3 {
                let a = try await registry.embed(.texts(Self.texts), options: EmbedOptions(model: Models.name(0)))
                let b = try await registry.embed(.texts(Self.texts), options: EmbedOptions(model: Models.name(1)))
                #expect(a.vectors == expectedA, "round \(round)")
                #expect(b.vectors == expectedB, "round \(round)")
            }
            #expect(try await registry.embed(.texts(Self.texts)).vectors == expectedA, "no model named: the configured one")
            #expect(Set(await registry.loaded().map(\.model)) == [Models.name(0), Models.name(1)])
        }
    }

    @Test func keepAliveZeroUnloadsTheModelAndStopsItsWorkersWhenTheCallEnds() async throws {
        let models = try Models(count: 1)
        defer { models.sandbox.remove() }
        let registry = ModelPools(configuration: models.configuration(), processes: 1, threadsPerProcess: 1)
        try await withCleanup({ await registry.stop() }) {
            let pids = try await registry.withPool(for: Models.name(0)) { pool in
                _ = try await pool.embed(["hello"])
                return await pool.statistics.pids
            }
            #expect(pids.count == 1)
            _ = try await registry.embed(["hello"], keepAlive: .duration(.zero))
            #expect(await registry.loaded().isEmpty)
            // The workers stop in the background; the registry counts them until they have.
            #expect(await ProcessProbe.poll { pids.allSatisfy(ProcessProbe.isGone) }, "the unloaded model's worker was stopped")
        }
    }

    @Test func anIdleModelIsUnloadedWhenItsKeepAlivePasses() async throws {
        let models = try Models(count: 1)
        defer { models.sandbox.remove() }
        let registry = ModelPools(configuration: models.configuration(), processes: 1, threadsPerProcess: 1, limits: .init(keepAlive: .milliseconds(300)))
        try await withCleanup({ await registry.stop() }) {
            _ = try await registry.embed(["hello"])
            let loaded = await registry.loaded()
            #expect(loaded.count == 1 && loaded[0].expiresAt != nil)
            #expect(await ProcessProbe.poll(timeout: .seconds(30)) { await registry.loaded().isEmpty })
            _ = try await registry.embed(["loaded again"], keepAlive: .forever)
            #expect(await registry.loaded().first?.expiresAt == nil, "kept until unloaded")
        }
    }

    @Test func aModelThatDoesNotFitWaitsForTheBusyOneAndUnloadsItWithoutFailingAnyCall() async throws {
        let models = try Models()
        defer { models.sandbox.remove() }
        // The first model holds its call for 2 s (a slow request); one model fits at a time.
        let registry = ModelPools(
            configuration: models.configuration(fault: "embed-text=slow please:slow=2"), processes: 1, threadsPerProcess: 1,
            limits: .init(maxLoadedModels: 1))
        try await withCleanup({ await registry.stop() }) {
            let first = Task { try await registry.embed(["slow please"], options: EmbedOptions(model: Models.name(0))) }
            #expect(await ProcessProbe.poll { await registry.loaded().first?.activeCalls == 1 })
            let second = Task { try await registry.embed(["hello"], options: EmbedOptions(model: Models.name(1))) }
            #expect(await ProcessProbe.poll { await registry.callsWaitingForRoom == 1 }, "the second model waits for room")
            let (firstCount, secondCount) = (try await first.value.count, try await second.value.count)
            #expect(firstCount == 1 && secondCount == 1, "no call failed")
            #expect(await registry.loaded().map(\.model) == [Models.name(1)], "the least recently used idle model made room")
        }
    }

    @Test func aMemoryBudgetUnloadsTheLeastRecentlyUsedIdleModel() async throws {
        let models = try Models(count: 3)
        defer { models.sandbox.remove() }
        let size = try #require(FileManager.default.attributesOfItem(atPath: models.folder.appendingPathComponent("tiny-a.gguf").path)[.size] as? NSNumber).intValue
        let registry = ModelPools(configuration: models.configuration(), processes: 1, threadsPerProcess: 1, limits: .init(memoryBudget: 2 * size + size / 2))
        try await withCleanup({ await registry.stop() }) {
            _ = try await registry.embed(["hello"], options: EmbedOptions(model: Models.name(0)))
            _ = try await registry.embed(["hello"], options: EmbedOptions(model: Models.name(1)))
            _ = try await registry.embed(["hello"], options: EmbedOptions(model: Models.name(0)))  // b is now the oldest
            _ = try await registry.embed(["hello"], options: EmbedOptions(model: Models.name(2)))
            #expect(Set(await registry.loaded().map(\.model)) == [Models.name(0), Models.name(2)])
        }
    }

    @Test func aModelWhoseWorkerCrashesDoesNotDisturbAnotherModelsCalls() async throws {
        let models = try Models()
        defer { models.sandbox.remove() }
        let expectedB = try await models.reference(Self.texts, model: Models.name(1))
        let registry = ModelPools(configuration: models.configuration(fault: "embed-text=BOOM:abort"), processes: 1, threadsPerProcess: 1)
        try await withCleanup({ await registry.stop() }) {
            let crashing = Task { try await registry.embed(["BOOM"], options: EmbedOptions(model: Models.name(0))) }
            for _ in 0..<5 {
                let vectors = try await registry.embed(.texts(Self.texts), options: EmbedOptions(model: Models.name(1))).vectors
                #expect(vectors == expectedB)
            }
            await #expect(throws: WorkerError.self) { try await crashing.value }
        }
    }

    @Test func aCallCancelledWhileItWaitsForRoomEndsWithoutLoadingItsModel() async throws {
        let models = try Models()
        defer { models.sandbox.remove() }
        let registry = ModelPools(
            configuration: models.configuration(fault: "embed-text=slow please:slow=30"), processes: 1, threadsPerProcess: 1,
            limits: .init(maxLoadedModels: 1))
        try await withCleanup({ await registry.stop() }) {
            let busy = Task { try await registry.embed(["slow please"], options: EmbedOptions(model: Models.name(0))) }
            #expect(await ProcessProbe.poll { await registry.loaded().first?.activeCalls == 1 })
            let waiting = Task { try await registry.embed(["hello"], options: EmbedOptions(model: Models.name(1))) }
            #expect(await ProcessProbe.poll { await registry.callsWaitingForRoom == 1 })
            waiting.cancel()
            await #expect(throws: CancellationError.self) { try await waiting.value }
            #expect(await registry.loaded().map(\.model) == [Models.name(0)])
            busy.cancel()
            _ = await busy.result
        }
    }
}
