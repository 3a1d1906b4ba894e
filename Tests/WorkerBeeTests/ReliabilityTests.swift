import Foundation
import GGUF
import Testing
import WorkerBeeTestSupport
import WorkerBeeWire

@testable import WorkerBee
import WorkerBeeModels

@Suite(.serialized, .timeLimit(.minutes(10))) struct ReliabilityTests {
    @Test func aPoisonTextIsCorneredAndEveryOtherTextGetsItsVector() async throws {
        let model = try TinyEmbeddingModel()
        defer { model.sandbox.remove() }
        var texts = TinyEmbeddingModel.texts(1_000)
        let clean = WorkerProcess(configuration: model.configuration())
        let expected = try await clean.embed(.texts(texts)).result
        await clean.stop()
        texts[617] = "BOOM"

        let pool = WorkerPool(configuration: model.configuration(fault: "embed-text=BOOM:abort"), processes: 2, threadsPerProcess: 1)
        do {
            _ = try await pool.embed(.texts(texts)).result
            Issue.record("a call with a poison text succeeded")
        } catch let error as WorkerError {
            #expect(error.code == .poisonInput)
            #expect(error.message.contains("617"), "\(error.message)")
            #expect(error.exitStatus == .signaled(SIGABRT))
            let partial = try #require(error.partial)
            #expect(partial.failedIndexes == [617])
            #expect(partial.result.count == 1_000)
            for row in 0..<1_000 where row != 617 {
                #expect(maximumDifference(partial.result.vector(at: row), expected.vector(at: row)) < 1e-3, "text \(row)")
            }
        }
        let spawns = await pool.statistics.spawns
        #expect(spawns <= 2 + 2 + 2 * 10, "\(spawns) spawns to find one poison text in 1,000")
        await pool.stop()
    }

    @Test func aStreamCanReportPoisonTextsInPlaceAndGoOn() async throws {
        let model = try TinyEmbeddingModel()
        defer { model.sandbox.remove() }
        var texts = TinyEmbeddingModel.texts(300)
        texts[10] = "BOOM"
        texts[250] = "BOOM"
        var configuration = model.configuration(fault: "embed-text=BOOM:abort")
        configuration.requestLimit = EmbedRequestLimit(texts: 64)
        let pool = WorkerPool(configuration: configuration, processes: 2, threadsPerProcess: 1)
        var failed: [Int] = []
        var count = 0
        for try await item in pool.embeddings(of: CountingTexts(texts: texts), options: EmbedOptions(poisonTexts: .report)) {
            #expect(item.index == count)
            if let error = item.error {
                failed.append(item.index)
                #expect(error.code == .poisonInput && error.message.hasPrefix("text \(item.index) "), "\(error.message)")
                #expect(item.vector.isEmpty)
            } else {
                #expect(item.vector.count == 32)
            }
            count += 1
        }
        #expect(count == 300 && failed == [10, 250])
        await pool.stop()
    }

    @Test func aStreamThatMeetsAPoisonTextFailsThereByDefault() async throws {
        let model = try TinyEmbeddingModel()
        defer { model.sandbox.remove() }
        var texts = TinyEmbeddingModel.texts(100)
        texts[40] = "BOOM"
        let pool = WorkerPool(configuration: model.configuration(fault: "embed-text=BOOM:abort"), processes: 1)
        var delivered = 0
        do {
            for try await _ in pool.embeddings(of: CountingTexts(texts: texts)) { delivered += 1 }
            Issue.record("the stream went past a poison text")
        } catch let error as WorkerError {
            #expect(error.code == .poisonInput && error.message.hasPrefix("text 40 "))
        }
        #expect(delivered == 40, "every text before the poison one was delivered")
        await pool.stop()
    }

    @Test func oneLostWorkerCostsOneRespawnNotAMultiplication() async throws {
        let model = try TinyEmbeddingModel()
        defer { model.sandbox.remove() }
        let pool = WorkerPool(configuration: model.configuration(fault: "embed#2:abort", once: true), processes: 1)
        let result = try await pool.embed(.texts(TinyEmbeddingModel.texts(2_000))).result
        #expect(result.count == 2_000)
        #expect(await pool.statistics.spawns == 2, "the first worker and the one that replaced it")
        #expect(await pool.statistics.losses == 1)
        await pool.stop()
    }

    @Test func aJobFinishesWhileEveryWorkerIsKilledAgainAndAgain() async throws {
        let model = try TinyEmbeddingModel()
        defer { model.sandbox.remove() }
        let texts = TinyEmbeddingModel.texts(40_000)
        let clean = WorkerProcess(configuration: model.configuration())
        let expected = try await clean.embed(.texts(texts)).result
        await clean.stop()

        let pool = WorkerPool(configuration: model.configuration(), processes: 2, threadsPerProcess: 1)
        try await pool.start()
        let job = Task { try await pool.embed(.texts(texts)).result }
        // Kill every worker as soon as it has answered a request, 12 times over.
        var events = await pool.workers[0].events().makeAsyncIterator()
        var kills = 0
        while kills < 12, await events.next(where: { $0.isAnswered }) != nil {
            for pid in await pool.statistics.pids { kill(pid, SIGKILL) }
            kills += 1
        }
        let result = try await job.value
        #expect(result.count == texts.count)
        for row in stride(from: 0, to: texts.count, by: 13) {
            #expect(maximumDifference(result.vector(at: row), expected.vector(at: row)) < 1e-3, "text \(row)")
        }
        #expect(await pool.statistics.losses >= 1)
        await pool.stop()
    }

    @Test func aModelThatCrashesAtItsFirstDecodeIsNamedAndRemembered() async throws {
        let model = try TinyEmbeddingModel()
        defer { model.sandbox.remove() }
        let broken = model.sandbox.directory.appendingPathComponent("all-f16.gguf")
        try BrokenModels.writeAllF16(from: model.url, to: broken)
        var configuration = model.configuration()
        configuration.models.embedding = .file(broken)

        let first = WorkerProcess(configuration: configuration)
        do {
            _ = try await first.embed(.texts(["hello"])).vectors
            Issue.record("a model that crashes llama.cpp embedded")
        } catch let error as WorkerError {
            #expect(error.code == .modelCrashed)
            #expect(error.message.contains("binary_op"), "the native reason comes first: \(error.message)")
            #expect(error.exitStatus == .signaled(SIGABRT))
        }
        #expect(await first.spawnCount == 2, "the model is loaded once more before it is judged, and no more")

        let second = WorkerProcess(configuration: configuration)
        do {
            _ = try await second.embed(.texts(["hello"])).vectors
            Issue.record("a known broken model was loaded again")
        } catch let error as WorkerError {
            #expect(error.code == .modelCrashed)
            #expect(error.message.contains("binary_op"))
        }
        #expect(await second.spawnCount == 0, "refused without loading the model")

        // A new file at the same path clears the verdict.
        try FileManager.default.removeItem(at: broken)
        try FileManager.default.copyItem(at: model.url, to: broken)
        let third = WorkerProcess(configuration: configuration)
        #expect(try await third.embed(.texts(["hello"])).vectors[0].count == 32)
        await third.stop()
    }

    /// Appends `line` to a worker log as another WorkerBee process's worker with the same home would.
    static func appendAsAnotherProcess(_ line: String, to log: URL) throws {
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("\(line)\n".utf8))
    }

    @Test func aCrashIsNotBlamedOnAModelAnotherProcessesWorkerWasLoading() async throws {
        // Two WorkerBee processes with one home share its worker log files. Here another
        // process's worker has begun loading the default model (its line, as it writes it, is
        // in the log) when this worker crashes on a text: the crash is this text's, not the
        // model's, and the model must not be condemned for it.
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let configuration = sandbox.configuration(fault: "embed-text=BOOM:segv")
        let worker = WorkerProcess(configuration: configuration)
        var events = await worker.events().makeAsyncIterator()
        #expect(try await worker.embed(.texts(["fine"])).vectors.count == 1)
        let model = ModelDirectory.standard.resolve(ModelDirectory.defaultEmbeddingModel).path
        try Self.appendAsAnotherProcess("[2026-11-27T16:47:41Z] workerbee: \(ModelLoadMarker.loading(model, pid: getpid()))", to: configuration.launch.logURL)
        await #expect {
            _ = try await worker.embed(.texts(["BOOM"])).vectors
        } throws: { error in
            (error as? WorkerError)?.code == .crashed
        }
        let lost = await events.next(where: { $0.isLost() })
        #expect(lost?.isLost(.crashed) == true, "lost as \(String(describing: lost))")
        #expect(ModelVerdicts(directory: sandbox.directory).verdict(for: URL(fileURLWithPath: model)) == nil)
        await worker.stop()
    }

    @Test func aCrashMessageQuotesOnlyTheCrashingWorkersOwnLines() async throws {
        // Another process with the same home has a worker that writes to the same log file; its
        // ggml assertion lands there while this worker is up, then this worker aborts on a text.
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let configuration = sandbox.configuration(fault: "embed-text=BOOM:abort")
        let worker = WorkerProcess(configuration: configuration)
        #expect(try await worker.embed(.texts(["fine"])).vectors.count == 1)
        try Self.appendAsAnotherProcess("/src/ggml/ggml.c:1234: GGML_ASSERT(another process) failed", to: configuration.launch.logURL)
        do {
            _ = try await worker.embedRequest(["BOOM"], model: worker.configuration.models.embedding, normalize: true, retryOnLoss: false)
            Issue.record("a worker that aborts answered")
        } catch let error as WorkerError {
            #expect(error.code == .crashed && error.exitStatus == .signaled(SIGABRT))
            #expect(!error.message.contains("another process"), "\(error.message)")
            #expect(error.logTail?.contains("another process") == false, "\(error.logTail ?? "")")
            #expect(error.logTail?.contains("fault injection: abort") == true, "its own last words: \(error.logTail ?? "")")
        }
        // The log file still has every line, the other process's and this worker's.
        #expect(sandbox.log.contains("GGML_ASSERT(another process) failed") && sandbox.log.contains("fault injection: abort"))
        await worker.stop()
    }

    @Test func aWorkerKilledBySIGILLIsReportedWithTheRebuildHint() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration(fault: "embed:sigill"))
        do {
            _ = try await worker.embed(.texts(["anything"])).vectors
            Issue.record("a worker dying of SIGILL answered")
        } catch let error as WorkerError {
            #expect(error.exitStatus == .signaled(SIGILL))
            #expect(error.message.contains("built for another CPU") && error.message.contains("scripts/bootstrap"))
        }
    }

    @Test func theWorkerInheritsNoDescriptorFromTheHost() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let marker = sandbox.directory.appendingPathComponent("host-only-file")
        FileManager.default.createFile(atPath: marker.path, contents: Data("x".utf8))
        let fd = open(marker.path, O_RDONLY)  // deliberately without O_CLOEXEC
        #expect(fd > 2)
        defer { close(fd) }
        let worker = WorkerProcess(configuration: sandbox.configuration())
        try await worker.start()
        let pid = try #require(await worker.pid)
        let open = (try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")).compactMap {
            try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)")
        }
        #expect(!open.isEmpty)
        #expect(!open.contains(marker.path), "the worker holds the host's descriptor: \(open)")
        await worker.stop()
    }

    @Test func aWorkerOnACPUWithoutTheBuildsInstructionsRefusesToStartAndSaysHowToRebuild() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let here = Set((cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") } ?? "").split(separator: " ").map(String.init))
        let absent = try #require(["amx_tile", "avx512_bf16", "avx512f", "avx_vnni", "avx2"].first { !here.contains($0) }, "this CPU has every flag the test could pretend")
        let home = sandbox.directory.appendingPathComponent("home")
        try FileManager.default.createDirectory(at: home.appendingPathComponent("llama"), withIntermediateDirectories: true)
        try Data("fpu sse3 \(absent)".utf8).write(to: home.appendingPathComponent("llama/cpu-flags"))
        var configuration = sandbox.configuration()
        configuration.launch.environment["WORKERBEE_HOME"] = home.path
        let worker = WorkerProcess(configuration: configuration)
        do {
            try await worker.start()
            Issue.record("the worker started on a CPU it was not built for")
        } catch let error as WorkerError {
            #expect(error.code == .spawnFailed)
            #expect(error.message.contains("lacks \(absent)") && error.message.contains("scripts/bootstrap"), "\(error.message)")
            #expect(error.exitStatus == .exited(78))
        }
        #expect(await worker.spawnCount == 1, "a refusal is not retried")
    }

    @Test func aModelThatDoesNotFitTheMemoryLimitFailsWithTheLimitNamedAndNoVerdict() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        var configuration = sandbox.configuration()
        configuration.engine.memoryLimit = 64 << 20
        let worker = WorkerProcess(configuration: configuration)
        do {
            _ = try await worker.embed(.texts(["hello"])).vectors
            Issue.record("a 44 MiB model with its context fitted in 64 MiB")
        } catch let error as WorkerError {
            #expect(error.code == .modelCrashed)
            #expect(error.message.contains("memory limit of 64 MiB"), "\(error.message)")
        }
        let verdicts = ModelVerdicts(directory: sandbox.directory)
        #expect(verdicts.verdict(for: ModelDirectory.standard.resolve(ModelDirectory.defaultEmbeddingModel)) == nil, "a model that merely does not fit is not condemned")
        await worker.stop()
    }

    @Test func aLogFolderThatCannotBeWrittenIsAClearSpawnFailure() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let file = sandbox.directory.appendingPathComponent("not-a-folder")
        FileManager.default.createFile(atPath: file.path, contents: Data())
        var configuration = sandbox.configuration()
        configuration.launch.logDirectory = file
        let worker = WorkerProcess(configuration: configuration)
        do {
            _ = try await worker.embed(.texts(["hello"])).vectors
            Issue.record("a worker started without a log")
        } catch let error as WorkerError {
            #expect(error.code == .spawnFailed)
            #expect(error.message.contains("cannot open the worker log") && error.message.contains("not-a-folder"), "\(error.message)")
        }
        #expect(await worker.spawnCount == 0)
    }
}
