import Foundation
import Testing
import WorkerBeeTestSupport
import WorkerBeeWire

import WorkerBee

@Suite(.serialized) struct EmbedCommandTests {
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

    @Test func embedTakesTextsAsArguments() async throws {
        let run = try await CommandRun.run(["embed", "first text", "second text"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try run.embeddings.map(\.index) == [0, 1])
    }

    @Test func badInputLineIsRejectedWithItsLineNumber() async throws {
        let run = try await CommandRun.run(["embed"], stdin: "\"fine\"\nnot json\n")
        #expect(run.status != 0)
        #expect(run.stderr.contains("line 2"))
        #expect(run.stdout.isEmpty)
    }

    @Test func embedSurvivesAWorkerThatDiesMidJob() async throws {
        let texts = (0..<600).map { "text \($0) about " + String(repeating: "things ", count: $0 % 9) }
        let input = texts.map { "\"\($0)\"" }.joined(separator: "\n")
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        // Every worker aborts on its second request: each batch after the first loses a worker once.
        let run = try await CommandRun.run(["embed", "--batch-size", "100"], stdin: input,
                                           environment: ["WORKERBEE_HOME": ModelDirectory.home.path, "WORKERBEE_FAULT": "embed#2:abort"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = try run.embeddings
        #expect(lines.map(\.index) == Array(0..<600))
        let clean = try await CommandRun.run(["embed", "--batch-size", "600"], stdin: input)
        for (a, b) in zip(lines, try clean.embeddings) { #expect(cosineSimilarity(a.vector, b.vector) > 0.99999) }
    }

    @Test func unfinishableJobExitsNonZeroAndWhatItWroteIsValid() async throws {
        var texts = (0..<500).map { "ordinary text \($0)" }
        texts[450] = "BOOM"
        let input = texts.map { "\"\($0)\"" }.joined(separator: "\n")
        let run = try await CommandRun.run(["embed", "--batch-size", "200", "--retries", "1"], stdin: input,
                                           environment: ["WORKERBEE_FAULT": "embed-text=BOOM:abort"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("stopped after 400 of 500"))
        #expect(run.stderr.contains("SIGABRT"))
        let lines = try run.embeddings
        #expect(lines.map(\.index) == Array(0..<400))
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
}
