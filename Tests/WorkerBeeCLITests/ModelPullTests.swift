import Foundation
import GGUF
import Testing
import WorkerBee
import WorkerBeeTestSupport
import WorkerBeeWire
import WorkerBeeFixtures

/// `models pull`, `models list`, `models rm` and store names, against a stand-in Hub on loopback
/// (no test reaches the internet) and stores the tests lay out.
@Suite(.serialized, .timeLimit(.minutes(5))) struct ModelPullTests {
    /// A folder with a Hub cache, a models folder and an Ollama store, and the environment that
    /// points the command at them.
    struct Box {
        let root: URL
        var cache: URL { root.appendingPathComponent("hub") }
        var models: URL { root.appendingPathComponent("models") }
        var ollama: URL { root.appendingPathComponent("ollama") }
        func environment(_ hub: HubStandIn?, _ extra: [String: String] = [:]) -> [String: String] {
            ["HF_ENDPOINT": hub?.endpoint ?? "http://127.0.0.1:9", "HF_HUB_CACHE": cache.path, "OLLAMA_MODELS": ollama.path,
             "WORKERBEE_HOME": root.path, "HF_TOKEN": "", "HF_HUB_OFFLINE": ""].merging(extra) { $1 }
        }
        func remove() { try? FileManager.default.removeItem(at: root) }

        /// Lays out `layers` (media type and bytes) as Ollama stores a model: `sha256-` blobs and a
        /// manifest at `manifests/registry.ollama.ai/library/NAME/TAG` naming them. Returns the
        /// manifest.
        @discardableResult
        func addOllamaModel(_ name: String, tag: String = "latest", layers: [(mediaType: String, data: Data)]) throws -> URL {
            try FileManager.default.createDirectory(at: ollama.appendingPathComponent("blobs"), withIntermediateDirectories: true)
            var entries: [[String: Any]] = []
            for layer in layers {
                let digest = HubStandIn.sha256(layer.data)
                try layer.data.write(to: ollama.appendingPathComponent("blobs/sha256-\(digest)"))
                entries.append(["mediaType": layer.mediaType, "digest": "sha256:\(digest)", "size": layer.data.count])
            }
            let manifest = ollama.appendingPathComponent("manifests/registry.ollama.ai/library/\(name)/\(tag)")
            try FileManager.default.createDirectory(at: manifest.deletingLastPathComponent(), withIntermediateDirectories: true)
            try JSONSerialization.data(withJSONObject: ["schemaVersion": 2, "layers": entries]).write(to: manifest)
            return manifest
        }
    }

    static func box() throws -> Box {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-pull-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        return Box(root: root)
    }

    /// A real (tiny) embedding model's GGUF bytes, so pulled files can be embedded with.
    static func tinyGGUF(seed: UInt64 = 42) throws -> Data {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-tiny-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try TinyModels.writeSentenceTransformersBERT(to: folder.appendingPathComponent("st"), seed: seed)
        let output = folder.appendingPathComponent("tiny.gguf")
        _ = try SentenceTransformersConverter.convert(directory: folder.appendingPathComponent("st"), to: output, type: .f32, name: "tiny")
        return try Data(contentsOf: output)
    }

    static let repository = "test-org/tiny-embed-GGUF"

    static func start() async throws -> (HubStandIn, Data) {
        let hub = try await HubStandIn.start()
        let model = try tinyGGUF()
        hub.add(repository, files: ["tiny-embed.Q8_0.gguf": model, "tiny-embed.F16.gguf": try tinyGGUF(seed: 7), "README.md": Data("# tiny\n".utf8)])
        return (hub, model)
    }

    @Test func aPulledFileIsTheServedBytesInTheHubCacheLayoutAndEmbedsByName() async throws {
        let (hub, model) = try await Self.start()
        defer { hub.stop() }
        let box = try Self.box()
        defer { box.remove() }
        let run = try await CommandRun.run(["models", "pull", "\(Self.repository):Q8_0"], environment: box.environment(hub, ["HF_TOKEN": HubStandIn.token]))
        #expect(run.status == 0, "\(run.stderr)")
        let folder = box.cache.appendingPathComponent("models--test-org--tiny-embed-GGUF")
        let commit = hub.commit(of: Self.repository)
        let blob = folder.appendingPathComponent("blobs/\(HubStandIn.sha256(model))")
        #expect(try Data(contentsOf: blob) == model)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: folder.appendingPathComponent("snapshots/\(commit)/tiny-embed.Q8_0.gguf").path)
            == "../../blobs/\(HubStandIn.sha256(model))")
        #expect(try String(contentsOf: folder.appendingPathComponent("refs/main"), encoding: .utf8) == commit)
        #expect(!FileManager.default.fileExists(atPath: blob.path + ".incomplete"))
        #expect(!hub.state.withLock { $0.tokenSeenByCDN }, "the token must not follow the redirect to another host")
        #expect(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == box.models.appendingPathComponent("tiny-embed.q8_0.gguf").path)
        for name in ["tiny-embed.q8_0", "hf:\(Self.repository):tiny-embed.Q8_0.gguf"] {
            let embed = try await CommandRun.run(["embed", "--model", name, "hello world"], environment: box.environment(hub))
            #expect(embed.status == 0, "\(name): \(embed.stderr)")
            #expect(try embed.embeddings.first?.vector.count == 32)
        }
    }

    /// Rerank GGUFs as published (a BERT cross-encoder, a Qwen3-style LLM reranker) pull as they
    /// are, list as `rerank`, and rerank by name.
    @Test func pulledRerankersListAsRerankAndRerank() async throws {
        let hub = try await HubStandIn.start()
        defer { hub.stop() }
        let box = try Self.box()
        defer { box.remove() }
        let scratch = box.root.appendingPathComponent("scratch")
        try TinyModels.writeCrossEncoderBERT(to: scratch.appendingPathComponent("ce"))
        let bert = scratch.appendingPathComponent("ce.gguf")
        _ = try SentenceTransformersConverter.convert(directory: scratch.appendingPathComponent("ce"), to: bert, type: .f32)
        let qwen = scratch.appendingPathComponent("qwen.gguf")
        try TinyModels.writeQwen3Reranker(to: qwen)
        hub.add("test-org/tiny-reranker-GGUF", files: ["tiny-reranker.F32.gguf": try Data(contentsOf: bert)])
        hub.add("test-org/tiny-qwen3-reranker-GGUF", files: ["tiny-qwen3-reranker.F32.gguf": try Data(contentsOf: qwen)])
        for repository in ["test-org/tiny-reranker-GGUF", "test-org/tiny-qwen3-reranker-GGUF"] {
            let run = try await CommandRun.run(["models", "pull", "\(repository):F32"], environment: box.environment(hub))
            #expect(run.status == 0, "\(run.stderr)")
        }
        let list = try await CommandRun.run(["models", "list"], environment: box.environment(hub))
        for name in ["tiny-reranker.f32", "tiny-qwen3-reranker.f32"] {
            let row = try #require(list.stdout.split(separator: "\n").first { $0.hasPrefix(name) }, "\(list.stdout)")
            #expect(row.hasSuffix("rerank"), "\(row)")
            let rerank = try await CommandRun.run(["rerank", "--model", name, "--query", "hello world", "--json", "the worker bee", "hello"], environment: box.environment(hub))
            #expect(rerank.status == 0, "\(name): \(rerank.stderr)")
            #expect(rerank.stdout.split(separator: "\n").count == 2)
        }
    }

    @Test func aQuantizationThatMatchesSeveralFilesOrNoneListsTheChoices() async throws {
        let (hub, _) = try await Self.start()
        defer { hub.stop() }
        let box = try Self.box()
        defer { box.remove() }
        let ambiguous = try await CommandRun.run(["models", "pull", Self.repository], environment: box.environment(hub))
        #expect(ambiguous.status != 0)
        #expect(ambiguous.stderr.contains("has 2 GGUF files") && ambiguous.stderr.contains("\(Self.repository):tiny-embed.F16.gguf"), "\(ambiguous.stderr)")
        let none = try await CommandRun.run(["models", "pull", "\(Self.repository):Q4_K_M"], environment: box.environment(hub))
        #expect(none.status != 0)
        #expect(none.stderr.contains("no GGUF file matching Q4_K_M") && none.stderr.contains("tiny-embed.Q8_0.gguf"), "\(none.stderr)")
    }

    @Test func aRevisionPicksItsCommitAndAnUnknownRevisionIsNotFound() async throws {
        let (hub, model) = try await Self.start()
        defer { hub.stop() }
        let box = try Self.box()
        defer { box.remove() }
        let commit = hub.commit(of: Self.repository)
        let run = try await CommandRun.run(["models", "pull", "\(Self.repository):Q8_0", "--revision", commit], environment: box.environment(hub))
        #expect(run.status == 0, "\(run.stderr)")
        let folder = box.cache.appendingPathComponent("models--test-org--tiny-embed-GGUF")
        #expect(try Data(contentsOf: folder.appendingPathComponent("snapshots/\(commit)/tiny-embed.Q8_0.gguf")) == model)
        // A commit needs no ref; huggingface_hub writes refs only for branch, tag and PR names.
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("refs").path))
        let pullRequest = try await CommandRun.run(["models", "pull", "\(Self.repository):Q8_0", "--revision", "refs/pr/1"], environment: box.environment(hub))
        #expect(pullRequest.status == 0, "\(pullRequest.stderr)")
        #expect(try String(contentsOf: folder.appendingPathComponent("refs/refs/pr/1"), encoding: .utf8) == commit)
        let unknown = try await CommandRun.run(["models", "pull", "\(Self.repository):Q8_0", "--revision", "v9"], environment: box.environment(hub))
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("no such revision"), "\(unknown.stderr)")
    }

    @Test func anInterruptedPullContinuesWithOnlyTheMissingBytes() async throws {
        let (hub, model) = try await Self.start()
        defer { hub.stop() }
        let box = try Self.box()
        defer { box.remove() }
        hub.state.withLock { $0.dropNextDownloadAfter = 32_768 }
        let cut = try await CommandRun.run(["models", "pull", "\(Self.repository):Q8_0"], environment: box.environment(hub))
        #expect(cut.status != 0)
        #expect(cut.stderr.contains("pull again to continue"), "\(cut.stderr)")
        let partial = box.cache.appendingPathComponent("models--test-org--tiny-embed-GGUF/blobs/\(HubStandIn.sha256(model)).incomplete")
        let kept = try Data(contentsOf: partial).count
        #expect(kept > 0 && kept < model.count, "kept \(kept) of \(model.count) bytes")
        let sentBefore = hub.state.withLock { $0.cdnBytesSent }
        let resumed = try await CommandRun.run(["models", "pull", "\(Self.repository):Q8_0"], environment: box.environment(hub))
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(hub.state.withLock { $0.rangeStarts } == [0, kept], "the second download must ask for the bytes after the \(kept) it has")
        #expect(hub.state.withLock { $0.cdnBytesSent } - sentBefore == model.count - kept, "the second download must send only the missing bytes")
        #expect(resumed.stderr.contains("continued from"))
        #expect(try Data(contentsOf: partial.deletingPathExtension()) == model)
    }

    @Test func aCorruptedDownloadIsRejectedAndItsPartialFileDeleted() async throws {
        let (hub, model) = try await Self.start()
        defer { hub.stop() }
        let box = try Self.box()
        defer { box.remove() }
        hub.state.withLock { $0.corrupt = true }
        let run = try await CommandRun.run(["models", "pull", "\(Self.repository):Q8_0"], environment: box.environment(hub))
        #expect(run.status != 0)
        #expect(run.stderr.contains("SHA-256") && run.stderr.contains("deleted"), "\(run.stderr)")
        let blob = box.cache.appendingPathComponent("models--test-org--tiny-embed-GGUF/blobs/\(HubStandIn.sha256(model))")
        #expect(!FileManager.default.fileExists(atPath: blob.path))
        #expect(!FileManager.default.fileExists(atPath: blob.path + ".incomplete"))
        #expect(!FileManager.default.fileExists(atPath: box.models.appendingPathComponent("tiny-embed.q8_0.gguf").path))
    }

    @Test func aGatedRepositoryNeedsTheTokenAndAnUnknownOneIsNotFound() async throws {
        let (hub, model) = try await Self.start()
        defer { hub.stop() }
        hub.add("test-org/gated", files: ["gated.gguf": model], gated: true)
        let box = try Self.box()
        defer { box.remove() }
        let refused = try await CommandRun.run(["models", "pull", "test-org/gated"], environment: box.environment(hub))
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("gated") && refused.stderr.contains("HF_TOKEN"), "\(refused.stderr)")
        let allowed = try await CommandRun.run(["models", "pull", "test-org/gated"], environment: box.environment(hub, ["HF_TOKEN": HubStandIn.token]))
        #expect(allowed.status == 0, "\(allowed.stderr)")
        let unknown = try await CommandRun.run(["models", "pull", "test-org/nothing-here"], environment: box.environment(hub))
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("test-org/nothing-here was not found"), "\(unknown.stderr)")
        let missingFile = try await CommandRun.run(["models", "pull", "\(Self.repository):absent.gguf"], environment: box.environment(hub))
        #expect(missingFile.stderr.contains("no GGUF file matching absent.gguf"), "\(missingFile.stderr)")
    }

    @Test func offlineAPulledModelComesFromTheCacheAndAnotherIsRefused() async throws {
        let (hub, model) = try await Self.start()
        let box = try Self.box()
        defer { box.remove() }
        #expect(try await CommandRun.run(["models", "pull", "\(Self.repository):Q8_0"], environment: box.environment(hub)).status == 0)
        hub.stop()
        // The Hub is gone; offline mode must not try to reach it.
        let offline = try await CommandRun.run(["models", "pull", "\(Self.repository):Q8_0", "--name", "again"], environment: box.environment(nil, ["HF_HUB_OFFLINE": "1"]))
        #expect(offline.status == 0, "\(offline.stderr)")
        #expect(try Data(contentsOf: box.models.appendingPathComponent("again.gguf").resolvingSymlinksInPath()) == model)
        let absent = try await CommandRun.run(["models", "pull", "\(Self.repository):F16"], environment: box.environment(nil, ["HF_HUB_OFFLINE": "1"]))
        #expect(absent.status != 0)
        #expect(absent.stderr.contains("HF_HUB_OFFLINE"), "\(absent.stderr)")
    }

    @Test func twoPullsOfOneFileAtOnceDownloadItOnceIntact() async throws {
        let (hub, model) = try await Self.start()
        defer { hub.stop() }
        let box = try Self.box()
        defer { box.remove() }
        // The test holds the blob's lock (the file huggingface_hub would lock too) until both
        // pulls have asked for the file's metadata, so neither can start before the other has
        // seen the file missing; the one that gets the lock second must find the file done and
        // not download it again (without the lock both would download it).
        let lock = box.cache.appendingPathComponent(".locks/models--test-org--tiny-embed-GGUF/\(HubStandIn.sha256(model)).lock")
        try FileManager.default.createDirectory(at: lock.deletingLastPathComponent(), withIntermediateDirectories: true)
        let descriptor = open(lock.path, O_RDWR | O_CREAT, 0o644)
        #expect(flock(descriptor, LOCK_EX | LOCK_NB) == 0)
        async let first = CommandRun.run(["models", "pull", "\(Self.repository):Q8_0", "--name", "one"], environment: box.environment(hub))
        async let second = CommandRun.run(["models", "pull", "\(Self.repository):Q8_0", "--name", "two"], environment: box.environment(hub))
        await hub.waitForHeads(2)
        flock(descriptor, LOCK_UN)
        close(descriptor)
        let runs = try await [first, second]
        #expect(runs.allSatisfy { $0.status == 0 }, "\(runs.map(\.stderr))")
        #expect(hub.state.withLock { ($0.cdnRequests, $0.cdnBytesSent) } == (1, model.count))
        for name in ["one", "two"] {
            #expect(try Data(contentsOf: box.models.appendingPathComponent("\(name).gguf").resolvingSymlinksInPath()) == model)
        }
    }

    @Test func aVisionModelComesWithItsProjector() async throws {
        let hub = try await HubStandIn.start()
        defer { hub.stop() }
        let box = try Self.box()
        defer { box.remove() }
        let files = try TinyModels.writeVisionModel(to: box.root.appendingPathComponent("made"))
        let text = try Data(contentsOf: files.model), projector = try Data(contentsOf: files.projector)
        hub.add("test-org/tiny-vision-GGUF", files: ["tiny-vision-Q8_0.gguf": text, "mmproj-tiny-vision-f16.gguf": projector])
        let run = try await CommandRun.run(["models", "pull", "test-org/tiny-vision-GGUF:Q8_0"], environment: box.environment(hub))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Data(contentsOf: box.models.appendingPathComponent("tiny-vision-q8_0.mmproj.gguf").resolvingSymlinksInPath()) == projector)
        let info = try await CommandRun.run(["models", "info", "tiny-vision-q8_0"], environment: box.environment(hub))
        #expect(info.stdout.contains("can: read images") && info.stdout.contains("a link into the Hugging Face cache"), "\(info.stdout)\(info.stderr)")
        let projectorInfo = try await CommandRun.run(["models", "info", "tiny-vision-q8_0.mmproj"], environment: box.environment(hub))
        #expect(projectorInfo.stdout.contains("can: neither: this is a vision projector"), "\(projectorInfo.stdout)\(projectorInfo.stderr)")
        // The list says which row is the model and which its projector.
        let list = try await CommandRun.run(["models", "list"], environment: box.environment(hub))
        let rows = list.stdout.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        #expect(rows.first { $0.first == "tiny-vision-q8_0" }?.last == "read images", "\(list.stdout)")
        #expect(rows.first { $0.first == "tiny-vision-q8_0.mmproj" }?.last == "projector", "\(list.stdout)")
        let page = box.root.appendingPathComponent("page.png")
        try VisionSandbox.page().write(to: page)
        let ocr = try await CommandRun.run(["ocr", page.path, "--model", "tiny-vision-q8_0", "--max-tokens", "2", "--json"], environment: box.environment(hub))
        #expect(ocr.status == 0, "\(ocr.stderr)")
        #expect(ocr.stdout.contains("\"source\":\"vision\""))
    }

    @Test func aSentenceTransformersRepositoryIsDownloadedAndConverted() async throws {
        let hub = try await HubStandIn.start()
        defer { hub.stop() }
        let box = try Self.box()
        defer { box.remove() }
        let source = box.root.appendingPathComponent("st")
        try TinyModels.writeSentenceTransformersBERT(to: source)
        var files: [String: Data] = ["README.md": Data("# tiny bert\n".utf8)]
        for case let path as String in FileManager.default.enumerator(atPath: source.path)! where !path.hasSuffix("1_Pooling") {
            files[path] = try Data(contentsOf: source.appendingPathComponent(path))
        }
        hub.add("test-org/tiny-bert", files: files)
        let run = try await CommandRun.run(["models", "pull", "test-org/tiny-bert"], environment: box.environment(hub))
        #expect(run.status == 0, "\(run.stderr)")
        let pulled = try GGUFFile(contentsOf: box.models.appendingPathComponent("tiny-bert.gguf"))
        #expect(pulled.architecture == "bert")
        let embed = try await CommandRun.run(["embed", "--model", "tiny-bert", "hello world"], environment: box.environment(hub))
        #expect(embed.status == 0, "\(embed.stderr)")
    }

    @Test func modelsInAnOllamaStoreAndAHubCacheLaidOutByHandAreListedAndUsedByName() async throws {
        let box = try Self.box()
        defer { box.remove() }
        let model = try Self.tinyGGUF()
        let digest = HubStandIn.sha256(model)
        // Ollama: a manifest naming the model layer, the GGUF as a sha256- blob.
        let manifest = try box.addOllamaModel("tiny-embed", layers: [("application/vnd.ollama.image.model", model)])
        // Hugging Face cache: blobs, a snapshot link, refs/main.
        let repo = box.cache.appendingPathComponent("models--some-org--cached-GGUF")
        let commit = String(repeating: "ab", count: 20)
        try FileManager.default.createDirectory(at: repo.appendingPathComponent("blobs"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: repo.appendingPathComponent("snapshots/\(commit)"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: repo.appendingPathComponent("refs"), withIntermediateDirectories: true)
        try model.write(to: repo.appendingPathComponent("blobs/\(digest)"))
        try FileManager.default.createSymbolicLink(atPath: repo.appendingPathComponent("snapshots/\(commit)/cached.gguf").path, withDestinationPath: "../../blobs/\(digest)")
        try Data(commit.utf8).write(to: repo.appendingPathComponent("refs/main"))

        let list = try await CommandRun.run(["models", "list"], environment: box.environment(nil))
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout.contains("ollama:tiny-embed:latest\tbert\t") && list.stdout.contains("\tollama\tembed"), "\(list.stdout)")
        #expect(list.stdout.contains("hf:some-org/cached-GGUF:cached.gguf\tbert\t") && list.stdout.contains("\thf-cache"), "\(list.stdout)")
        for name in ["ollama:tiny-embed", "hf:some-org/cached-GGUF:cached.gguf"] {
            let embed = try await CommandRun.run(["embed", "--model", name, "hello world"], environment: box.environment(nil))
            #expect(embed.status == 0, "\(name): \(embed.stderr)")
        }
        let info = try await CommandRun.run(["models", "info", "ollama:tiny-embed"], environment: box.environment(nil))
        #expect(info.stdout.contains("source: Ollama's store") && info.stdout.contains("can: embed"), "\(info.stdout)\(info.stderr)")
        let refused = try await CommandRun.run(["models", "rm", "ollama:tiny-embed"], environment: box.environment(nil))
        #expect(refused.status != 0 && refused.stderr.contains("never modifies"))
        #expect(FileManager.default.fileExists(atPath: manifest.path))
    }

    @Test func anOllamaVisionModelReadsPagesWithItsProjectorLayer() async throws {
        let box = try Self.box()
        defer { box.remove() }
        let files = try TinyModels.writeVisionModel(to: box.root.appendingPathComponent("made"))
        try box.addOllamaModel("tiny-vision", tag: "v1", layers: [
            ("application/vnd.ollama.image.model", try Data(contentsOf: files.model)),
            ("application/vnd.ollama.image.projector", try Data(contentsOf: files.projector)),
        ])
        let info = try await CommandRun.run(["models", "info", "ollama:tiny-vision:v1"], environment: box.environment(nil))
        #expect(info.stdout.contains("can: read images"), "\(info.stdout)\(info.stderr)")
        let page = box.root.appendingPathComponent("page.png")
        try VisionSandbox.page().write(to: page)
        let ocr = try await CommandRun.run(["ocr", page.path, "--model", "ollama:tiny-vision:v1", "--max-tokens", "2", "--json"], environment: box.environment(nil))
        #expect(ocr.status == 0, "\(ocr.stderr)")
        #expect(ocr.stdout.contains("\"source\":\"vision\""))
    }

    @Test func removingAPulledModelKeepsTheSharedCacheFile() async throws {
        let (hub, model) = try await Self.start()
        defer { hub.stop() }
        let box = try Self.box()
        defer { box.remove() }
        #expect(try await CommandRun.run(["models", "pull", "\(Self.repository):Q8_0"], environment: box.environment(hub)).status == 0)
        let run = try await CommandRun.run(["models", "rm", "tiny-embed.q8_0", "--models-dir", box.models.path], environment: box.environment(hub))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: box.models.appendingPathComponent("tiny-embed.q8_0.gguf").path))
        let blob = box.cache.appendingPathComponent("models--test-org--tiny-embed-GGUF/blobs/\(HubStandIn.sha256(model))")
        #expect(FileManager.default.fileExists(atPath: blob.path))
        let again = try await CommandRun.run(["models", "rm", "tiny-embed.q8_0", "--models-dir", box.models.path], environment: box.environment(hub))
        #expect(again.status != 0 && again.stderr.contains("no model tiny-embed.q8_0"))
    }

    #if os(Linux)
    @Test func onATerminalThePullShowsSizeRateAndTimeLeft() async throws {
        let script = try #require(ExternalProgram.find("script"), "util-linux's script gives the command a terminal")
        let hub = try await HubStandIn.start()
        defer { hub.stop() }
        let box = try Self.box()
        defer { box.remove() }
        // Big enough that the meter draws at least once before the end.
        hub.add("test-org/big-GGUF", files: ["big.gguf": Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })])
        let command = "\(try workerbeeExecutable.path) models pull test-org/big-GGUF"
        let output = try await ExternalProgram.run(script, arguments: ["-qec", command, "/dev/null"], environment: box.environment(hub))
        let text = String(decoding: output.stdout, as: UTF8.self)
        #expect(output.succeeded, "\(text)")
        #expect(text.contains("MiB of 2.9 MiB (100%)") && text.contains("/s, 0 s left"), "\(text)")
    }
    #endif
}
