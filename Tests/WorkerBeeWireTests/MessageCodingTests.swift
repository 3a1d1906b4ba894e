import Testing
import WorkerBeeTestSupport

@testable import WorkerBeeWire

@Suite struct MessageCodingTests {
    static let requests: [WorkerRequest] = [
        .embed(EmbedRequest(model: "all-minilm-l6-v2", normalize: false, texts: ["a", "", "naïve 東京 🐝"])),
        .embed(EmbedRequest(model: "", texts: [])),
        .embed(EmbedRequest(model: "reranker", normalize: false, texts: ["doc one", "doc two"], truncateStart: true, queries: ["q", "another q"])),
        .vision(VisionRequest(model: "m", projector: "/p/mmproj.gguf", prompt: "read", image: [0x89, 0x50, 0x4E, 0x47], maxTokens: 77)),
        .loadModel(kind: .vision, model: "qwen"),
        .loadModel(kind: .embedding, model: ""),
        .embedTokens(model: "m", normalize: true, tokens: [[101, 7, 102], [101, 102]]),
        .tokenize(model: "", texts: ["one", "two words"]),
        .recognize(language: "eng+deu", image: [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]),
        .cancel,
        .shutdown,
    ]

    static let responses: [WorkerResponse] = [
        .hello(WorkerHello(pid: 4242, buildInfo: "CPU : AVX2 = 1")),
        .embeddings(EmbedResult(dimension: 2, values: [1.5, -0.25, .pi, 0], tokenCounts: [3, 512], truncated: [false, true])),
        .embeddings(EmbedResult(dimension: 0, values: [], tokenCounts: [], truncated: [])),
        .text(VisionResult(text: "# Title\n| a | b |", promptTokens: 300, generatedTokens: 12)),
        .loaded,
        .tokens([[101, 2023, 102], []]),
        .recognized(RecognizedText(text: "Grüße\nline two", confidence: 87)),
        .failure(WorkerFailure(code: .modelNotFound, message: "model file /x.gguf does not exist")),
        .failure(WorkerFailure(code: FailureCode("aCodeFromANewerWorker"), message: "unknown codes keep their name")),
    ]

    @Test func anEmbedRequestWhoseQueriesDoNotPairWithItsTextsIsMalformed() throws {
        var frame = WorkerRequest.embed(EmbedRequest(model: "m", texts: ["a", "b"], queries: ["q", "q"])).frame(requestID: 1)
        let valid = try WorkerRequest(frame: frame)
        #expect(valid == .embed(EmbedRequest(model: "m", texts: ["a", "b"], queries: ["q", "q"])))
        // One query for two texts: cut the last query off and set the count to 1.
        var payload = frame.payload
        payload.removeLast(4 + 1)
        let countOffset = payload.count - (4 + 1) - 4
        payload.replaceSubrange(countOffset..<(countOffset + 4), with: [1, 0, 0, 0])
        frame = Frame(kind: frame.kind, requestID: 1, payload: payload)
        #expect(throws: WireError.self) { try WorkerRequest(frame: frame) }
    }

    @Test(arguments: requests)
    func requestSurvivesEncodeAndDecode(request: WorkerRequest) throws {
        let frame = request.frame(requestID: 77)
        #expect(frame.requestID == 77)
        #expect(try WorkerRequest(frame: frame) == request)
    }

    @Test(arguments: responses)
    func responseSurvivesEncodeAndDecode(response: WorkerResponse) throws {
        #expect(try WorkerResponse(frame: response.frame(requestID: 5)) == response)
    }

    @Test func embeddingsArePackedLittleEndianFloat32() {
        let frame = WorkerResponse.embeddings(EmbedResult(dimension: 1, values: [1.0], tokenCounts: [2], truncated: [false])).frame(requestID: 1)
        // dimension u32, count u32, then 1.0f = 0x3F800000 little-endian, then tokens u32 and flag.
        #expect(frame.payload == [1, 0, 0, 0, 1, 0, 0, 0, 0x00, 0x00, 0x80, 0x3F, 2, 0, 0, 0, 0])
    }

    @Test func unknownKindIsRejected() {
        do {
            _ = try WorkerResponse(frame: Frame(kind: 0x99, requestID: 1, payload: []))
            Issue.record("unknown kind decoded")
        } catch {
            #expect(error.code == .unknownMessage)
        }
        #expect(throws: WireError.self) { try WorkerRequest(frame: Frame(kind: 0x81, requestID: 1, payload: [])) }
        #expect((try? WorkerRequest(frame: Frame(kind: 0x81, requestID: 1, payload: []))) == nil)
    }

    @Test func truncatedPayloadIsMalformed() {
        let full = WorkerResponse.failure(WorkerFailure(code: .internal, message: "message")).frame(requestID: 1)
        let cut = Frame(kind: full.kind, requestID: 1, payload: Array(full.payload.dropLast(2)))
        do {
            _ = try WorkerResponse(frame: cut)
            Issue.record("truncated payload decoded")
        } catch {
            #expect(error.code == .malformed)
        }
    }

    @Test func trailingBytesAreMalformed() {
        let frame = Frame(kind: 0x84, requestID: 1, payload: [0])
        #expect(throws: WireError(.malformed, "message 0x84 has 1 unexpected trailing bytes")) { try WorkerResponse(frame: frame) }
    }

    @Test func embeddingsAnnouncingMoreFloatsThanTheFrameHoldsAreMalformed() {
        let frame = Frame(kind: 0x82, requestID: 1, payload: [0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0x7F])
        do {
            _ = try WorkerResponse(frame: frame)
            Issue.record("an impossible embeddings header decoded")
        } catch {
            #expect(error.code == .malformed)
            #expect(error.message.contains("more than the frame holds"))
        }
    }

    @Test func embeddingsDecodedFromASliceOfALargerBufferAreExact() throws {
        // The decoder hands out payloads that share storage with its buffer; decoding must read
        // from the slice's own offsets.
        let result = EmbedResult(dimension: 3, values: [1, 2, 3, 4, 5, 6], tokenCounts: [7, 8], truncated: [true, false])
        var decoder = FrameDecoder()
        decoder.append(WorkerResponse.loaded.frame(requestID: 1).encoded() + WorkerResponse.embeddings(result).frame(requestID: 2).encoded())
        _ = try #require(try decoder.next())
        let frame = try #require(try decoder.next())
        #expect(try WorkerResponse(frame: frame) == .embeddings(result))
    }

    @Test func settingsSurviveJSON() throws {
        let settings = WorkerSettings(modelsDirectory: "/m", embeddingModel: "e", visionModel: "v", contextSize: 128, threads: 1, gpuLayers: 0, logPath: "/l/worker.log")
        #expect(try WorkerSettings.parse(settings.json()) == settings)
    }

    @Test func emptySettingsStringsMeanNone() {
        let settings = WorkerSettings(modelsDirectory: "/m", embeddingModel: "e", visionModel: "", visionProjector: "", logPath: "")
        #expect(settings.visionModel == nil && settings.visionProjector == nil && settings.logPath == nil)
    }
}
