import CWorkerBeeSystem
import Foundation
import GGUF
import WorkerBeeWire
import WorkerBeeModels

/// The worker's state and its request loop: the models it holds, the requests the host sent,
/// and the answers it writes back. Runs on the worker's main thread only.
struct RequestLoop {
    let settings: WorkerSettings
    let channel: HostChannel
    let queue = RequestQueue()
    var faults = FaultInjector()
    var models: LoadedModels
    var tesseract: TesseractEngine?
    /// The last embed answer sent, for the `late-answer` fault.
    var lastEmbedAnswer: (id: UInt64, result: EmbedResult)?

    init(settings: WorkerSettings, channel: HostChannel) {
        self.settings = settings
        self.channel = channel
        models = LoadedModels(settings: settings)
    }

    mutating func run() -> Never {
        log("worker online: pid \(getpid()), protocol \(WireProtocol.version)")
        let startFault = faults.fire(at: "start")
        if let startFault, startFault != .deaf { inject(startFault, requestID: 0) }
        LlamaRuntime.start(logLevel: .info)
        channel.send(.hello(WorkerHello(pid: getpid(), buildInfo: LlamaRuntime.systemInfo)), requestID: 0)
        if startFault == .deaf { inject(.deaf, requestID: 0) }

        let (channel, queue) = (self.channel, self.queue)
        let reader = Thread {
            let failure = channel.readFrames { frame in
                do {
                    queue.push(id: frame.requestID, request: try WorkerRequest(frame: frame))
                } catch {
                    WorkerLog.write("protocol error from the host: \(error); exiting")
                    _exit(2)
                }
            }
            if let failure { WorkerLog.write("protocol error from the host: \(failure); exiting") }
            // Input closed: the host is gone or done with us. Exit at once, even mid-request.
            _exit(0)
        }
        reader.name = "workerbee-reader"
        reader.start()

        while let item = queue.next() {
            if item.cancelled {
                cancelled(item.id)
            } else {
                handle(item.request, id: item.id)
            }
            queue.finish()
        }
        log("shutdown requested; exiting")
        models.unloadAll()
        exit(0)
    }

    private mutating func handle(_ request: WorkerRequest, id: UInt64) {
        let start = DispatchTime.now()
        switch request {
        case .embed(let embed):
            let verb = embed.queries.isEmpty ? "embed" : "rerank"
            log("request \(id) started: \(verb) \(embed.texts.count) texts")
            if let action = faults.fire(at: "embed", texts: embed.texts) { inject(action, requestID: id) }
            if queue.abort.isRaised { return cancelled(id) }
            if embed.texts.isEmpty {
                channel.send(.embeddings(EmbedResult(dimension: 0, values: [], tokenCounts: [], truncated: [])), requestID: id)
                return
            }
            do {
                let model = try models.embeddingModel(named: embed.model.isEmpty ? settings.embeddingModel : embed.model)
                let result = embed.queries.isEmpty
                    ? try model.embed(embed.texts, normalize: embed.normalize, truncateStart: embed.truncateStart, abort: queue.abort)
                    : try model.rerank(queries: embed.queries, documents: embed.texts, truncateStart: embed.truncateStart, abort: queue.abort)
                channel.send(.embeddings(result), requestID: id)
                lastEmbedAnswer = (id, result)
                let ms = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
                log(verb + String(format: " id=%llu texts=%d tokens=%d %.1f ms", id, embed.texts.count, result.tokenCounts.reduce(0, +), ms))
            } catch {
                fail(error, id: id)
            }
        case .loadModel(let kind, let model):
            if let action = faults.fire(at: "load") { inject(action, requestID: id) }
            switch kind {
            case .embedding:
                models.unload(.embedding)
                if !model.isEmpty {
                    do {
                        _ = try models.embeddingModel(named: model)
                    } catch {
                        fail(error, id: id)
                        return
                    }
                }
            case .vision:
                models.unload(.vision)
                models.visionModelName = model.isEmpty ? nil : model
                if !model.isEmpty {
                    do {
                        _ = try models.visionModel(named: model, projector: settings.visionProjector ?? "")
                    } catch {
                        fail(error, id: id)
                        return
                    }
                }
            }
            log("load-model id=\(id) kind=\(kind) model=\(model.isEmpty ? "(unload)" : model)")
            channel.send(.loaded, requestID: id)
        case .vision(let vision):
            log("request \(id) started: vision \(vision.image.count) bytes")
            if let action = faults.fire(at: "vision") { inject(action, requestID: id) }
            if queue.abort.isRaised { return cancelled(id) }
            let name = vision.model.isEmpty ? (models.visionModelName ?? settings.visionModel ?? "") : vision.model
            if name.isEmpty {
                channel.send(.failure(WorkerFailure(code: .visionDisabled, message: "No vision model configured; vision OCR is disabled.")), requestID: id)
                return
            }
            do {
                let model = try models.visionModel(named: name, projector: vision.projector.isEmpty ? (settings.visionProjector ?? "") : vision.projector)
                let result = try model.read(image: vision.image, instruction: vision.prompt, maxTokens: Int(vision.maxTokens), abort: queue.abort)
                channel.send(.text(result), requestID: id)
                let ms = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
                log(String(format: "vision id=%llu image=%d bytes prompt_tokens=%d generated_tokens=%d chars=%d %.1f ms",
                           id, vision.image.count, result.promptTokens, result.generatedTokens, result.text.count, ms))
            } catch {
                fail(error, id: id)
            }
        case .recognize(let language, let image):
            log("request \(id) started: recognize \(image.count) bytes")
            if let action = faults.fire(at: "recognize", bytes: image.count) { inject(action, requestID: id) }
            if queue.abort.isRaised { return cancelled(id) }
            do {
                if tesseract == nil { tesseract = try TesseractEngine() }
                let result = try tesseract!.read(image: image, language: language)
                channel.send(.recognized(result), requestID: id)
                let ms = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
                log(String(format: "recognize id=%llu image=%d bytes chars=%d confidence=%d %.1f ms", id, image.count, result.text.count, result.confidence, ms))
            } catch {
                fail(error, id: id)
            }
        case .embedTokens(let model, let normalize, let tokens):
            log("request \(id) started: embed \(tokens.count) token sequences")
            do {
                let loaded = try models.embeddingModel(named: model.isEmpty ? settings.embeddingModel : model)
                channel.send(.embeddings(try loaded.embed(tokens: tokens, normalize: normalize, abort: queue.abort)), requestID: id)
            } catch {
                fail(error, id: id)
            }
        case .tokenize(let model, let texts):
            do {
                let loaded = try models.embeddingModel(named: model.isEmpty ? settings.embeddingModel : model)
                var tokens: [[Int32]] = []
                for text in texts { tokens.append(try loaded.tokenize(text)) }
                channel.send(.tokens(tokens), requestID: id)
            } catch {
                fail(error, id: id)
            }
        case .cancel, .shutdown:
            break  // handled by the queue
        }
    }

    /// Answers a request that was cancelled before it did its work.
    private func cancelled(_ id: UInt64) {
        log("request \(id) cancelled before it ran")
        channel.send(.failure(WorkerFailure(code: .cancelled, message: "cancelled")), requestID: id)
    }

    private func fail(_ error: Error, id: UInt64) {
        let failure: WorkerFailure
        if let engine = error as? EngineError {
            var message = engine.message
            if engine.code == .loadFailed, let limit = settings.memoryLimit {
                message += "; the worker's memory limit of \(limit / 1_048_576) MiB may be too small for it"
            }
            failure = WorkerFailure(code: engine.code, message: message)
        } else if let gguf = error as? GGUFError {
            failure = WorkerFailure(code: gguf.code == .missing ? .projectorNotFound : .invalidModel, message: gguf.message)
        } else {
            failure = WorkerFailure(code: .internal, message: "\(error)")
        }
        log("request \(id) failed: \(failure.code): \(failure.message)")
        channel.send(.failure(failure), requestID: id)
    }

    /// Takes a fault-injection action (tests only).
    private func inject(_ action: FaultInjector.Action, requestID: UInt64) {
        action.perform(requestID: requestID, channel: channel, abort: queue.abort, lastEmbedAnswer: lastEmbedAnswer)
    }

    func log(_ message: String) { WorkerLog.write(message) }
}
