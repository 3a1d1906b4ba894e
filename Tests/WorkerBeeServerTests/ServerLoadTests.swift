import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import WorkerBee
import WorkerBeeServer
import WorkerBeeTestSupport

/// Loads on a real server over loopback, each bounded in count.
@Suite(.serialized, .timeLimit(.minutes(10))) struct ServerLoadTests {
    static func sentence(_ index: Int) -> String { "client \(index) asks about topic \(index * 7 % 23) and \(index % 5) more things" }

    @Test func concurrentClientsEachGetTheirOwnVectors() async throws {
        let server = try await ServerHarness.start()
        return try await withCleanup({ await server.stop() }) {
            let expected = try await referenceVectors((0..<64).map(Self.sentence))
            let replies = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
                for index in 0..<64 {
                    group.addTask {
                        let reply = try await server.post("/v1/embeddings", json: ["input": Self.sentence(index), "model": "all-minilm-l6-v2"])
                        #expect(reply.status == .ok)
                        return (index, try reply.openAIVectors[0])
                    }
                }
                var replies: [Int: [Float]] = [:]
                for try await (index, vector) in group { replies[index] = vector }
                return replies
            }
            for index in 0..<64 { #expect(try #require(replies[index]) == expected[index], "client \(index)") }
            // Concurrent requests were coalesced: fewer batches than requests.
            let metrics = String(decoding: try await server.get("/metrics").body, as: UTF8.self)
            let batches = metrics.split(separator: "\n").first { $0.hasPrefix("workerbee_batch_texts_count") }.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }
            #expect(try #require(batches) < 64, "64 requests went out in \(batches ?? 0) batches")
        }
    }

    @Test func aFloodBeyondTheQueueGets429AndTheServerStaysUp() async throws {
        let server = try await ServerHarness.start({ $0.maxQueuedTokens = 400 }, workers: 1)
        return try await withCleanup({ await server.stop() }) {
            let texts = (0..<100).map { "flood text \($0) " + String(repeating: "with padding words ", count: 10) }
            let statuses = try await withThrowingTaskGroup(of: (HTTPResponseStatus, String?).self) { group in
                for index in 0..<40 {
                    group.addTask {
                        let reply = try await server.post("/v1/embeddings", json: ["input": Array(texts[(index % 10 * 10)..<(index % 10 * 10 + 10)])])
                        return (reply.status, reply.headers["Retry-After"].first)
                    }
                }
                var statuses: [(HTTPResponseStatus, String?)] = []
                for try await status in group { statuses.append(status) }
                return statuses
            }
            let limited = statuses.filter { $0.0 == .tooManyRequests }
            #expect(!limited.isEmpty, "some requests were refused with 429")
            #expect(limited.allSatisfy { $0.1 == "1" }, "429 says when to retry")
            #expect(statuses.allSatisfy { $0.0 == .ok || $0.0 == .tooManyRequests })
            #expect(try await server.post("/v1/embeddings", json: ["input": "still here"]).status == .ok)
        }
    }

    @Test func aClientThatHangsUpHasItsQueuedTextsDroppedUnembedded() async throws {
        let log = LogLines()
        // One worker, held busy for 8 s by the first request, so the next one waits in the queue.
        let server = try await ServerHarness.start(
            workers: 1, workerConfiguration: { $0.launch.environment["WORKERBEE_FAULT"] = "embed-text=hold the worker:slow=8" }, logger: log.logger)
        try await withCleanup({ await server.stop() }) {
            var events = await server.server.pool.workers[0].events().makeAsyncIterator()
            let holder = Task { try await server.post("/v1/embeddings", json: ["input": "hold the worker"]) }
            #expect(await events.next(where: { $0.isSent(items: 1) }) != nil)

            // A client sends two texts and hangs up once the server has its request.
            let gone = server.postToAbandon(
                "/v1/embeddings", body: Data(#"{"input": ["nobody waits for this", "nor for this"]}"#.utf8), contentType: "application/json", requestID: "gone-client")
            #expect(await log.next(containing: "body of", "request_id=gone-client") != nil)
            gone.cancel()
            let access = try #require(await log.next(containing: "info POST /v1/embeddings", "request_id=gone-client"))
            #expect(access.contains("/v1/embeddings 499"), "access log: \(access)")

            // The worker, once free, embeds the next request's text only: the two were dropped.
            #expect(try await holder.value.status == .ok)
            #expect(try await server.post("/v1/embeddings", json: ["input": "asked after"]).status == .ok)
            let metrics = String(decoding: try await server.get("/metrics").body, as: UTF8.self)
            let sent = metrics.split(separator: "\n").first { $0.hasPrefix("workerbee_batch_texts_sum") }.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }
            #expect(sent == 2, "texts sent to the worker: \(sent ?? -1) (the holder and the last request)")
            #expect(metrics.contains(#"status="499""#))
        }
    }

    @Test func killingWorkersDuringLoadLosesNoRequest() async throws {
        let server = try await ServerHarness.start()
        return try await withCleanup({ await server.stop() }) {
            let expected = try await referenceVectors((0..<40).map(Self.sentence))
            // The first "sent again" any worker announces (what the retry counter of /metrics counts).
            let streams = await withTaskGroup(of: AsyncStream<WorkerEvent>.self) { group in
                for worker in server.server.pool.workers { group.addTask { await worker.events() } }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let retried = Task {
                await withTaskGroup(of: Bool.self) { group in
                    for stream in streams {
                        group.addTask {
                            var events = stream.makeAsyncIterator()
                            return await events.next(where: \.isRetrying) != nil
                        }
                    }
                    let first = await group.next() ?? false
                    group.cancelAll()
                    return first
                }
            }
            let load = Task {
                try await withThrowingTaskGroup(of: (Int, HTTPResponseStatus, [Float]).self) { group in
                    for round in 0..<10 {
                        for client in 0..<8 {
                            let index = (round * 8 + client) % 40
                            group.addTask {
                                let reply = try await server.post("/v1/embeddings", json: ["input": [Self.sentence(index), Self.sentence((index + 1) % 40)]])
                                return (index, reply.status, reply.status == .ok ? try reply.openAIVectors[0] : [])
                            }
                        }
                    }
                    var results: [(Int, HTTPResponseStatus, [Float])] = []
                    for try await result in group { results.append(result) }
                    return results
                }
            }
            // Kill every worker each time one answers, 6 times over, while the load runs.
            var events = await server.server.pool.workers[0].events().makeAsyncIterator()
            for _ in 0..<6 {
                guard await events.next(where: { $0.isAnswered }) != nil else { break }
                for pid in await server.server.pool.statistics.pids { kill(pid, SIGKILL) }
            }
            let results = try await load.value
            #expect(results.count == 80)
            for (index, status, vector) in results {
                #expect(status == .ok)
                #expect(vector == expected[index], "request for text \(index)")
            }
            #expect(await server.server.pool.statistics.losses > 0)
            // The texts sent again are announced (the event /metrics counts as workerbee_retries_total).
            #expect(await retried.value)
        }
    }

    @Test func sigtermDrainsTheRequestsInFlightAndExitsZero() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let port = try freeLoopbackPort()
        // The server says READY=1 on a notify socket (as to systemd) once its model answers.
        let notifications = try NotifySocket(path: sandbox.directory.appendingPathComponent("notify").path)
        let (started, announce) = AsyncStream<Int32>.makeStream()
        let serve = Task {
            try await ExternalProgram.run(
                try workerbeeExecutable, arguments: ["serve", "--port", "\(port)", "--workers", "2"],
                environment: ["NOTIFY_SOCKET": notifications.path], onStart: { announce.yield($0) })
        }
        var pids = started.makeAsyncIterator()
        let pid = try #require(await pids.next())
        // One connection per request, so that all 16 are in flight when the signal comes.
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 32)))
        defer { Task { try? await client.shutdown() } }
        func post(_ text: String) async throws -> (HTTPResponseStatus, Data) {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/embeddings")
            request.method = HTTPMethod.POST
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: ["input": Array(repeating: text, count: 50)])))
            let response = try await client.execute(request, timeout: .seconds(120))
            return (response.status, Data(buffer: try await response.body.collect(upTo: 16 << 20)))
        }
        #expect(await notifications.next() == "READY=1")
        var probe = HTTPClientRequest(url: "http://127.0.0.1:\(port)/ready")
        probe.method = .GET
        #expect(try await client.execute(probe, timeout: .seconds(30)).status == .ok)
        let (answered, signal) = AsyncStream<Void>.makeStream()
        let load = Task {
            try await withThrowingTaskGroup(of: (HTTPResponseStatus, Data).self) { group in
                for index in 0..<16 {
                    group.addTask {
                        let reply = try await post(Self.sentence(index))
                        signal.yield()
                        return reply
                    }
                }
                var replies: [(HTTPResponseStatus, Data)] = []
                for try await reply in group { replies.append(reply) }
                return replies
            }
        }
        // SIGTERM once the first answer is back, with the rest in flight.
        var first = answered.makeAsyncIterator()
        _ = await first.next()
        kill(pid, SIGTERM)
        let replies = try await load.value
        #expect(replies.count == 16)
        for (status, body) in replies {
            #expect(status == .ok, "a request in flight was finished, not cut")
            let json = try JSONSerialization.jsonObject(with: body) as? [String: Any]
            #expect((json?["data"] as? [Any])?.count == 50, "the body is complete")
        }
        let output = try await serve.value
        #expect(output.status == .exited(0), "\(String(decoding: output.stderr, as: UTF8.self))")
        #expect(String(decoding: output.stderr, as: UTF8.self).contains("stopped"))
    }
}
