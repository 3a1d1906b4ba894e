import Foundation
import GGUF
import Testing
import WorkerBeeTestSupport
import WorkerBeeWire

import WorkerBee
import WorkerBeeFixtures
import WorkerBeeModels

@Suite(.serialized, .timeLimit(.minutes(10))) struct EmbedCommandTests {
    static let fixture = repositoryRoot.appendingPathComponent("Tests/Fixtures/minilm-reference.jsonl")

    static func referenceTexts() throws -> (input: String, vectors: [[Float]]) {
        let lines = try String(contentsOf: fixture, encoding: .utf8).split(separator: "\n")
        var input = ""
        var vectors: [[Float]] = []
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let text = String(decoding: try JSONSerialization.data(withJSONObject: object["text"]!, options: [.fragmentsAllowed]), as: UTF8.self)
            input += text + "\n"
            vectors.append((object["embedding"] as! [NSNumber]).map(\.floatValue))
        }
        return (input, vectors)
    }

    @Test func embedFromStdinMatchesTheReferenceInOrder() async throws {
        let (input, expected) = try Self.referenceTexts()
        let run = try await CommandRun.run(["embed"], stdin: input)
        #expect(run.status == 0, "\(run.stderr)")
        let lines = try run.embeddings
        #expect(lines.map(\.index) == Array(0..<expected.count))
        for (line, vector) in zip(lines, expected) {
            #expect(cosineSimilarity(line.vector, vector) >= 0.9999)
        }
    }

    @Test func embedWithAnF32ModelMatchesTheReference() async throws {
        let directory = try WorkerSandbox()
        defer { directory.remove() }
        let source = ModelDirectory.home.appendingPathComponent("sources/\(ModelDirectory.defaultEmbeddingModel)").path
        let imported = try await CommandRun.run(["models", "import", source, "--type", "f32", "--name", "minilm-f32", "--models-dir", directory.directory.path])
        #expect(imported.status == 0, "\(imported.stderr)")
        let (input, expected) = try Self.referenceTexts()
        let run = try await CommandRun.run(["embed", "--models-dir", directory.directory.path, "--model", "minilm-f32", "--input", "-"], stdin: input)
        #expect(run.status == 0, "\(run.stderr)")
        for (line, vector) in zip(try run.embeddings, expected) {
            #expect(cosineSimilarity(line.vector, vector) >= 0.9999)
        }
    }

    @Test func aPromptNameTheModelDoesNotHaveIsRefusedBeforeAnyWork() async throws {
        let run = try await CommandRun.run(["embed", "--prompt-name", "query", "hello"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("has no prompt \"query\"") && run.stderr.contains("it has none"), "\(run.stderr)")
    }

    @Test func embedTakesTextsAsArguments() async throws {
        let run = try await CommandRun.run(["embed", "first text", "second text"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try run.embeddings.map(\.index) == [0, 1])
    }

    @Test func aBadInputLineStopsTheJobWithItsLineNumberAfterTheLinesBeforeIt() async throws {
        let run = try await CommandRun.run(["embed"], stdin: "\"fine\"\n\n\"also fine\"\nnot json\n\"never read\"\n")
        #expect(run.status != 0)
        #expect(run.stderr.contains("stdin line 4: not JSON"), "\(run.stderr)")
        #expect(run.stderr.contains("stopped after 2 texts"))
        #expect(try run.embeddings.map(\.index) == [0, 1], "the texts before the bad line are written, complete")
    }

    /// A job whose workers die mid-job cuts its texts into other requests than a clean run:
    /// every vector still comes out the same bit for bit, in BF16 and F16 alike (whichever type
    /// the setup chose for the default model here).
    @Test(arguments: [SentenceTransformersConverter.OutputType.bf16, .f16])
    func aWorkerThatDiesMidJobChangesNoVectorBitForBit(type: SentenceTransformersConverter.OutputType) async throws {
        let texts = (0..<600).map { "text \($0) about " + String(repeating: "things ", count: $0 % 9 + ($0 % 50 == 0 ? 80 : 0)) }
        let input = texts.map { "\"\($0)\"" }.joined(separator: "\n")
        let model = try DefaultModelWeights.url(type).path
        // Every worker aborts on its second request: each batch after the first loses a worker once.
        let run = try await CommandRun.run(["embed", "--model", model, "--batch-size", "100"], stdin: input,
                                           environment: ["WORKERBEE_FAULT": "embed#2:abort", "WORKERBEE_LOG_LEVEL": "info"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n")
        #expect(lines.count == 600)
        let spawned = run.stderr.components(separatedBy: "] worker ").filter { $0.contains(" started: ") }.count
        #expect(spawned > 2, "workers were lost mid-job and replaced (\(spawned) spawned for 2 workers)")
        let clean = try await CommandRun.run(["embed", "--model", model, "--batch-size", "600", "--workers", "1"], stdin: input)
        #expect(clean.status == 0, "\(clean.stderr)")
        #expect(lines == clean.stdout.split(separator: "\n"), "the same lines, vectors printed in full precision")
    }

    @Test func aPoisonTextStopsTheJobThereByDefaultAndWhatItWroteIsValid() async throws {
        var texts = (0..<500).map { "ordinary text \($0)" }
        texts[450] = "BOOM"
        let input = texts.map { "\"\($0)\"" }.joined(separator: "\n")
        let run = try await CommandRun.run(["embed", "--batch-size", "200"], stdin: input,
                                           environment: ["WORKERBEE_FAULT": "embed-text=BOOM:abort"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("stopped after 450 texts") && run.stderr.contains("text 450 crashes the worker every time"), "\(run.stderr)")
        #expect(run.stderr.contains("SIGABRT"))
        let lines = try run.embeddings
        #expect(lines.map(\.index) == Array(0..<450), "every text before the poison one was written")
        #expect(lines.allSatisfy { $0.vector.count == 384 })
    }

    @Test func killingTheHostWithSIGKILLLeavesNoWorkerBehind() async throws {
        let input = (0..<20000).map { "\"a text to keep the worker busy, number \($0)\"" }.joined(separator: "\n")
        let (started, announce) = AsyncStream<Int32>.makeStream()
        let run = Task {
            try await CommandRun.run(["embed", "--batch-size", "20000"], stdin: input, onStart: { announce.yield($0) })
        }
        var pids = started.makeAsyncIterator()
        let host = try #require(await pids.next())
        var workers: [Int32] = []
        #expect(await ProcessProbe.poll(timeout: .seconds(60)) {
            workers = ProcessProbe.children(of: host, containing: "workerbee worker")
            return !workers.isEmpty
        })
        #expect(workers.allSatisfy { !ProcessProbe.isGone($0) })
        kill(host, SIGKILL)
        _ = try await run.value
        for worker in workers {
            #expect(await ProcessProbe.poll(timeout: .seconds(10), until: { ProcessProbe.isGone(worker) }), "worker \(worker) outlived its host")
        }
    }

    @Test func embeddingWithAMissingModelFailsClearly() async throws {
        let run = try await CommandRun.run(["embed", "--model", "no-such-model", "text"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("no-such-model"))
        #expect(run.stdout.isEmpty)
    }

    @Test func jsonObjectLinesKeepTheirOtherFields() async throws {
        let input = #"{"id": 7, "text": "first text"}"# + "\n" + #"{"text": "second text", "lang": "en", "id": "b"}"#
        let run = try await CommandRun.run(["embed"], stdin: input)
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        try #require(lines.count == 2, "a failed run must fail this test, not crash the test process on lines[0]")
        #expect(lines[0].hasPrefix(#"{"index": 0, "id": 7, "embedding": ["#))
        #expect(lines[1].hasPrefix(#"{"index": 1, "id": "b", "lang": "en", "embedding": ["#))
        let plain = try await CommandRun.run(["embed", "first text", "second text"])
        for (a, b) in zip(try run.embeddings, try plain.embeddings) { #expect(a.vector == b.vector) }
    }

    @Test func anotherTextFieldCanBeChosen() async throws {
        let run = try await CommandRun.run(["embed", "--text-field", "body"], stdin: #"{"body": "the text", "text": "not this"}"#)
        let plain = try await CommandRun.run(["embed", "the text"])
        #expect(try run.embeddings[0].vector == plain.embeddings[0].vector)
        #expect(run.stdout.contains(#""text": "not this""#), "the other fields are copied")
    }

    @Test func plainLinesAreTextsAndBlankLinesAreEmptyTexts() async throws {
        let run = try await CommandRun.run(["embed", "--lines"], stdin: "first line\n\n\"quoted\" line\r\n")
        #expect(run.status == 0, "\(run.stderr)")
        let lines = try run.embeddings
        try #require(lines.map(\.index) == [0, 1, 2])
        let plain = try await CommandRun.run(["embed", "\"quoted\" line"])
        #expect(try lines[2].vector == plain.embeddings[0].vector, "the carriage return was dropped")
    }

    @Test func invalidUTF8IsRepairedAndCounted() async throws {
        let directory = try WorkerSandbox()
        defer { directory.remove() }
        let file = directory.directory.appendingPathComponent("bad.txt")
        try Data([0x67, 0x6F, 0x6F, 0x64, 0x0A, 0x62, 0x61, 0xFF, 0x64, 0x0A]).write(to: file)  // "good\nba\xFFd\n"
        let run = try await CommandRun.run(["embed", "--lines", "--input", file.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try run.embeddings.count == 2)
        #expect(run.stderr.contains("1 line(s) were not valid UTF-8"))
    }

    @Test func outputFileAndResumeAfterTheHostIsKilledGiveTheSameLinesAsOneRun() async throws {
        let directory = try WorkerSandbox()
        defer { directory.remove() }
        let texts = (0..<3000).map { "resumable text \($0) " + String(repeating: "word ", count: $0 % 13) }
        let input = directory.directory.appendingPathComponent("in.jsonl")
        try Data(texts.map { "{\"id\": \($0.hashValue & 0xFFFF), \"text\": \"\($0)\"}" }.joined(separator: "\n").utf8).write(to: input)
        let output = directory.directory.appendingPathComponent("out.jsonl")
        let (started, announce) = AsyncStream<Int32>.makeStream()
        let first = Task {
            try await CommandRun.run(["embed", "--input", input.path, "--output", output.path, "--batch-size", "64"], onStart: { announce.yield($0) })
        }
        var pids = started.makeAsyncIterator()
        let host = try #require(await pids.next())
        // Kill the host once part of the output is on disk.
        #expect(await ProcessProbe.poll(timeout: .seconds(120)) {
            ((try? Data(contentsOf: output))?.filter { $0 == UInt8(ascii: "\n") }.count ?? 0) >= 300
        })
        kill(host, SIGKILL)
        _ = try await first.value
        let partial = try String(contentsOf: output, encoding: .utf8).split(separator: "\n").count
        #expect(partial < 3000, "the job was interrupted")

        let resumed = try await CommandRun.run(["embed", "--input", input.path, "--output", output.path, "--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming"))
        let whole = try await CommandRun.run(["embed", "--input", input.path])
        let resumedLines = try String(contentsOf: output, encoding: .utf8).split(separator: "\n")
        let wholeLines = whole.stdout.split(separator: "\n")
        #expect(resumedLines.count == 3000 && wholeLines.count == 3000)
        for (a, b) in zip(resumedLines, wholeLines) {
            let left = try JSONSerialization.jsonObject(with: Data(a.utf8)) as! [String: Any]
            let right = try JSONSerialization.jsonObject(with: Data(b.utf8)) as! [String: Any]
            #expect(left["index"] as? Int == right["index"] as? Int)
            #expect(left["id"] as? Int == right["id"] as? Int)
            let x = (left["embedding"] as! [NSNumber]).map(\.floatValue), y = (right["embedding"] as! [NSNumber]).map(\.floatValue)
            #expect(x == y)
        }
    }

    @Test func withOnErrorSkipAPoisonTextGetsAnErrorLineAndTheOthersTheirVectors() async throws {
        var texts = (0..<1_000).map { "ordinary text \($0)" }
        texts[617] = "BOOM"
        let input = texts.map { "\"\($0)\"" }.joined(separator: "\n")
        let run = try await CommandRun.run(["embed", "--on-error", "skip"], stdin: input,
                                           environment: ["WORKERBEE_FAULT": "embed-text=BOOM:abort", "WORKERBEE_LOG_LEVEL": "info"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n")
        #expect(lines.count == 1_000)
        let errorLines = lines.filter { $0.contains("\"error\"") }
        #expect(errorLines.count == 1)
        #expect(errorLines.first?.hasPrefix(#"{"index": 617, "error": "text 617 crashes the worker every time"#) == true, "\(errorLines)")
        #expect(errorLines.first?.contains("SIGABRT") == true)
        let spawns = run.stderr.components(separatedBy: "] worker ").filter { $0.contains(" started: ") }.count
        #expect(spawns >= 2 && spawns <= 24, "\(spawns) workers spawned")
        #expect(run.stderr.contains("1 text(s) crash the worker every time"))
    }
}
