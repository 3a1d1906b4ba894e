import Foundation
import GGUF
import Synchronization
import Testing
import WorkerBeeTestSupport
import WorkerBeeWire

@testable import WorkerBee

/// The largest difference between two vectors, element by element (F16 weights and a different
/// packing of texts into llama.cpp calls move values by about 1e-4).
func maximumDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
}

@Suite(.serialized, .timeLimit(.minutes(10))) struct CallOfAnySizeTests {
    @Test func oneCallOf200000TextsGivesEveryVectorInOrderInBoundedRequests() async throws {
        let model = try TinyEmbeddingModel()
        defer { model.sandbox.remove() }
        let texts = TinyEmbeddingModel.texts(200_000)
        let worker = WorkerProcess(configuration: model.configuration())
        let whole = try await worker.embed(.texts(texts)).result
        #expect(whole.count == 200_000)
        #expect(whole.dimension == 32)
        // No answer came near the frame cap: each request holds at most 512 texts.
        let largest = await worker.largestFrameReceived
        #expect(largest > 0 && largest <= 512 * (32 * 4 + 5) + 64, "largest frame \(largest) bytes")

        // The same texts in small calls, spread over the range, give the same vectors.
        for start in stride(from: 0, to: 200_000, by: 20_000) {
            let small = try await worker.embed(.texts(Array(texts[start..<(start + 100)]))).result
            for row in 0..<100 {
                #expect(maximumDifference(small.vector(at: row), whole.vector(at: start + row)) < 1e-3, "text \(start + row)")
            }
        }
        // Neighbouring texts differ, so a shifted order could not pass the check above.
        #expect(maximumDifference(whole.vector(at: 1), whole.vector(at: 2)) > 1e-2)
        await worker.stop()
    }

    @Test func aWorkerThatHangsInsideALargeCallIsKilledWithinTheTimeoutAndTheCallContinues() async throws {
        let model = try TinyEmbeddingModel()
        defer { model.sandbox.remove() }
        let texts = TinyEmbeddingModel.texts(5_000)
        let reference = WorkerProcess(configuration: model.configuration())
        let expected = try await reference.embed(.texts(texts)).result
        await reference.stop()

        // The third request of the call hangs once; each request has 3 s.
        let worker = WorkerProcess(configuration: model.configuration(fault: "embed#3:hang", once: true, embedTimeout: .seconds(3)))
        var events = await worker.events().makeAsyncIterator()
        let result = try await worker.embed(.texts(texts)).result
        #expect(result.count == 5_000)
        for row in stride(from: 0, to: 5_000, by: 7) {
            #expect(maximumDifference(result.vector(at: row), expected.vector(at: row)) < 1e-3, "text \(row)")
        }
        let lost = await events.next { $0.isLost() }
        guard case .lost(_, let status, let code) = lost else {
            Issue.record("no worker was lost")
            return
        }
        #expect(code == .timedOut && status == .signaled(SIGKILL))
        #expect(await worker.spawnCount == 2)
        await worker.stop()
    }

    @Test func aPoolCallOfAnySizeIsSplitIntoBoundedRequestsAcrossWorkers() async throws {
        let model = try TinyEmbeddingModel()
        defer { model.sandbox.remove() }
        let texts = TinyEmbeddingModel.texts(20_000)
        var configuration = model.configuration()
        configuration.requestLimit = EmbedRequestLimit(texts: 300)
        let pool = WorkerPool(configuration: configuration, processes: 2, threadsPerProcess: 1)
        let result = try await pool.embed(.texts(texts)).result
        #expect(result.count == 20_000)
        let single = WorkerProcess(configuration: model.configuration())
        for start in [0, 9_999, 19_900] {
            let small = try await single.embed(.texts(Array(texts[start..<(start + 100)]))).result
            for row in 0..<100 { #expect(maximumDifference(small.vector(at: row), result.vector(at: start + row)) < 1e-3) }
        }
        for worker in pool.workers {
            let largest = await worker.largestFrameReceived
            #expect(largest > 0 && largest <= 300 * (32 * 4 + 5) + 64, "every worker took part, in bounded requests")
        }
        await single.stop()
        await pool.stop()
    }

    @Test func theStreamGivesEveryTextInOrder() async throws {
        let model = try TinyEmbeddingModel()
        defer { model.sandbox.remove() }
        let texts = TinyEmbeddingModel.texts(3_000)
        var configuration = model.configuration()
        configuration.requestLimit = EmbedRequestLimit(texts: 100)
        let pool = WorkerPool(configuration: configuration, processes: 2, threadsPerProcess: 1)
        let expected = try await pool.embed(.texts(texts)).result
        var count = 0
        for try await item in pool.embeddings(of: CountingTexts(texts: texts)) {
            #expect(item.index == count)
            #expect(maximumDifference(item.vector, expected.vector(at: item.index)) < 1e-3)
            #expect(item.tokenCount == expected.tokenCounts[item.index])
            count += 1
        }
        #expect(count == 3_000)
        await pool.stop()
    }

    @Test func theStreamStopsReadingInputWhenItsConsumerStops() async throws {
        let model = try TinyEmbeddingModel()
        defer { model.sandbox.remove() }
        var configuration = model.configuration()
        configuration.requestLimit = EmbedRequestLimit(texts: 8)
        // One worker: at most 2 requests of 8 texts in flight, plus one text carried over.
        let pool = WorkerPool(configuration: configuration, processes: 1)
        let input = CountingTexts(texts: TinyEmbeddingModel.texts(10_000))
        var iterator = pool.embeddings(of: input).makeAsyncIterator()
        for expected in 0..<20 {
            let item = try #require(try await iterator.next())
            #expect(item.index == expected)
        }
        let readWhileConsuming = input.read.count
        #expect(readWhileConsuming <= 20 + 2 * 8 + 1, "read \(readWhileConsuming) texts to give 20 results")
        // The consumer pauses: in-flight requests finish, and nothing more is read.
        _ = try await pool.embed(.texts(["a request behind whatever the stream had in flight"])).result
        #expect(input.read.count == readWhileConsuming)
        await pool.stop()
    }
}
