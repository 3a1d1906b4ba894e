internal import CWorkerBeeSystem
import Foundation
import Logging
import WorkerBeeWire

@_exported import enum WorkerBeeWire.ModelKind
@_exported import struct WorkerBeeWire.EmbedResult
@_exported import struct WorkerBeeWire.VisionResult
@_exported import struct WorkerBeeWire.FailureCode
import WorkerBeeModels

/// Runs llama.cpp in a supervised child process and talks to it.
///
/// The worker starts lazily with the first request. Requests from concurrent callers are served
/// one at a time, in arrival order, without blocking threads. Embed calls of any size are cut
/// into bounded requests (``WorkerConfiguration/requestLimit``), each with its own timeout. If the
/// worker is lost while it holds a request (a crash, `abort()` in ggml, a kill, a broken frame,
/// or a timeout, which kills it as wedged), it is restarted and the request is sent once more; a
/// second loss fails with an error that leads with ggml's own reason, then the exit status, then
/// the end of the worker log. A model that crashes llama.cpp while loading is remembered and
/// refused at once next time (`.modelCrashed`). An answer is only ever delivered to the request
/// whose id it carries. Cancelling the calling task cancels the request in the worker (through
/// llama.cpp's abort callback) and the caller gets `CancellationError`.
///
/// ```swift
/// let worker = WorkerProcess()
/// let vectors = try await worker.embed(["hello", "world"])
/// await worker.stop()
/// ```
public actor WorkerProcess {
    /// How the worker is run.
    public nonisolated let configuration: WorkerConfiguration
    private let logger: Logger
    private let requestLock = AsyncFIFOLock()
    private var connection: ChildConnection?
    private var nextRequestID: UInt64 = 0
    private var stopCount = 0
    private var subscribers: [UInt64: AsyncStream<WorkerEvent>.Continuation] = [:]
    private var nextSubscriber: UInt64 = 0
    private var largestFrame = 0
    private var modelsKnownGood: Set<String> = []
    /// Requests sent to the current worker.
    private var requestsOnConnection = 0
    /// The model whose load the last lost worker did not finish.
    private var crashedModel: String?
    private nonisolated var verdicts: ModelVerdicts { ModelVerdicts(directory: configuration.launch.logDirectory) }
    /// The last worker's hello: protocol version, pid, llama.cpp build information.
    public private(set) var hello: WorkerHello?
    /// How many times a lost worker was restarted to retry a request.
    public private(set) var restartCount = 0
    /// How many workers have been spawned.
    public private(set) var spawnCount = 0

    /// Creates a supervisor; nothing starts until the first request or ``start()``.
    /// - Parameters:
    ///   - configuration: models, timeouts, executable.
    ///   - logger: where supervision events go.
    public init(configuration: WorkerConfiguration = WorkerConfiguration(), logger: Logger = Logger(label: "workerbee.worker-process")) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Supervision events from now on, as they happen: spawns, queued callers, requests sent
    /// and answered, losses, retries, stops. Each call returns a new stream; it ends when the
    /// consumer stops iterating.
    public func events() -> AsyncStream<WorkerEvent> {
        let (stream, continuation) = AsyncStream<WorkerEvent>.makeStream()
        let id = nextSubscriber
        nextSubscriber += 1
        subscribers[id] = continuation
        continuation.onTermination = { _ in Task { await self.unsubscribe(id) } }
        return stream
    }

    private func unsubscribe(_ id: UInt64) {
        subscribers[id] = nil
    }

    /// Tells subscribers that texts this worker lost are sent again (by a pool job, which does
    /// its own retrying).
    func announceRetry(label: String) {
        emit(.retrying(label: label))
    }

    private func emit(_ event: WorkerEvent) {
        for continuation in subscribers.values { continuation.yield(event) }
    }

    /// Whether a worker is running.
    public var isAlive: Bool {
        guard let connection else { return false }
        return !connection.isClosed && connection.process.exitStatus == nil
    }

    /// The running worker's pid, if any.
    public var pid: Int32? { isAlive ? connection?.process.pid : nil }

    /// Starts the worker if it is not running and waits for its hello.
    /// - Throws: ``WorkerError`` (`.spawnFailed`, `.crashed`, `.timedOut`, `.protocolViolation`).
    public func start() async throws {
        _ = try await runningConnection()
    }

    /// Stops the worker as a list of steps, each raced against its exit: a shutdown request and
    /// up to 5 s, then SIGTERM and up to 2 s, then SIGKILL. The worker is always reaped. A
    /// request in flight fails with `.stopped`.
    public func stop() async {
        stopCount += 1
        guard let connection else { return }
        forget(connection)
        let process = connection.process
        if !connection.isClosed {
            try? await connection.send(WorkerRequest.shutdown.frame(requestID: 0))
        }
        let status = await process.stop(steps: [(nil, .seconds(5)), (SIGTERM, .seconds(2))])
        connection.close()
        logger.info("worker \(process.pid) stopped (\(status))")
        emit(.stopped(pid: process.pid))
    }

    /// Stops the worker and starts a new one.
    public func restart() async throws {
        await stop()
        try await start()
    }

    /// Embeds texts with the configured or named model.
    /// - Parameters:
    ///   - texts: the texts; an empty list returns `[]` without starting anything.
    ///   - model: a model name or path; nil means the configured embedding model.
    /// - Returns: one L2-normalised vector per text, in order.
    /// - Throws: ``WorkerError``, or `CancellationError` when the task is cancelled.
    public func embed(_ texts: [String], model: String? = nil) async throws -> [[Float]] {
        try await embedResult(texts, model: model).vectors
    }

    /// Embeds texts and returns the packed vectors with per-text token counts and truncation flags.
    ///
    /// A call of any size works: the texts go to the worker in requests bounded by
    /// ``WorkerConfiguration/requestLimit`` (texts and bytes), one after another, so each request
    /// takes a bounded time and its answer stays far below the frame cap. The embed timeout
    /// applies to each request: a hung worker is caught within `timeouts.embed` while a call of a
    /// million texts runs to the end. Concurrent callers' requests interleave in arrival order.
    /// - Parameters:
    ///   - texts: the texts; an empty list returns an empty result without starting anything.
    ///   - model: a model name or path; nil means the configured embedding model.
    ///   - normalize: L2-normalise each vector (default true).
    /// - Throws: ``WorkerError``, or `CancellationError` when the task is cancelled.
    public func embedResult(_ texts: [String], model: String? = nil, normalize: Bool = true) async throws -> EmbedResult {
        var result = EmbedResult(dimension: configuration.models.embeddingDimension ?? 0, values: [], tokenCounts: [], truncated: [])
        for range in configuration.requestLimit.requests(for: texts) {
            let part = try await embedRequest(Array(texts[range]), model: model, normalize: normalize)
            if result.count == 0 { result.reserveCapacity(texts.count, dimension: part.dimension) }
            result.append(part)
        }
        return result
    }

    /// Sends one embed request (the caller keeps it within the request limit).
    /// - Parameter retryOnLoss: send it once more on a fresh worker if the worker is lost (a
    ///   pool that splits lost requests itself passes false).
    /// - Parameter freshWorker: send it as the first request of a newly started worker (the
    ///   pool's second try of a text suspected of crashing workers, so that a worker that was
    ///   failing anyway cannot get a good text declared poison).
    func embedRequest(_ texts: [String], model: String?, normalize: Bool, retryOnLoss: Bool = true, freshWorker: Bool = false) async throws -> EmbedResult {
        let request = EmbedRequest(model: model ?? configuration.models.embedding, normalize: normalize, texts: texts)
        try refuseKnownBrokenModel(request.model)
        let response = try await perform(
            .embed(request), timeout: configuration.timeouts.embed, label: "embed", retryOnLoss: retryOnLoss, freshWorker: freshWorker)
        guard case .embeddings(let result) = response, result.count == texts.count,
            result.values.count == result.count * result.dimension
        else {
            throw WorkerError(.protocolViolation, "the worker answered an embed request of \(texts.count) texts with \(Self.describe(response))")
        }
        if let expected = configuration.models.embeddingDimension, expected != result.dimension {
            throw WorkerError(.dimensionMismatch, "model \(request.model) makes \(result.dimension)-dimensional vectors, but the configuration expects \(expected)")
        }
        return result
    }

    /// Embeds texts given as token ids (as ``tokenize(_:model:)`` gives them, special tokens
    /// included). Sequences longer than the model's context are truncated.
    /// - Throws: ``WorkerError`` (`.invalidInput` for an empty sequence or an id outside the
    ///   vocabulary), or `CancellationError`.
    public func embedTokens(_ tokens: [[Int32]], model: String? = nil, normalize: Bool = true) async throws -> EmbedResult {
        if tokens.isEmpty { return .empty(dimension: configuration.models.embeddingDimension ?? 0) }
        let name = model ?? configuration.models.embedding
        try refuseKnownBrokenModel(name)
        let response = try await perform(.embedTokens(model: name, normalize: normalize, tokens: tokens), timeout: configuration.timeouts.embed, label: "embed tokens")
        guard case .embeddings(let result) = response, result.count == tokens.count, result.values.count == result.count * result.dimension else {
            throw WorkerError(.protocolViolation, "the worker answered an embed request of \(tokens.count) token lists with \(Self.describe(response))")
        }
        return result
    }

    /// The model's token ids for each text, special tokens included, before any truncation.
    /// - Throws: ``WorkerError``, or `CancellationError`.
    public func tokenize(_ texts: [String], model: String? = nil) async throws -> [[Int32]] {
        if texts.isEmpty { return [] }
        let name = model ?? configuration.models.embedding
        try refuseKnownBrokenModel(name)
        let response = try await perform(.tokenize(model: name, texts: texts), timeout: configuration.timeouts.embed, label: "tokenize")
        guard case .tokens(let tokens) = response, tokens.count == texts.count else {
            throw WorkerError(.protocolViolation, "the worker answered a tokenize request of \(texts.count) texts with \(Self.describe(response))")
        }
        return tokens
    }

    /// Reads the text in an image with the configured or named vision model.
    /// - Parameters:
    ///   - image: PNG or JPEG bytes.
    ///   - model: a model name or path; nil means the configured vision model.
    ///   - prompt: the instruction; nil means the default OCR instruction.
    /// - Throws: ``WorkerError`` (`.visionDisabled` when no vision model is configured), or
    ///   `CancellationError`.
    public func visionOCR(image: Data, model: String? = nil, prompt: String? = nil) async throws -> String {
        try await visionOCRResult(image: image, model: model, prompt: prompt).text
    }

    /// Reads the text in an image and returns it with token counts.
    /// - Parameters:
    ///   - image: PNG or JPEG bytes.
    ///   - model: a model name or path; nil means the configured vision model.
    ///   - projector: the projector path; nil means the configured one, else discovery next to the model.
    ///   - prompt: the instruction; nil means the default OCR instruction.
    ///   - maxTokens: cap on generated tokens; 0 means bounded only by the context.
    /// - Throws: ``WorkerError``, or `CancellationError`.
    public func visionOCRResult(image: Data, model: String? = nil, projector: String? = nil, prompt: String? = nil, maxTokens: Int = 0) async throws -> VisionResult {
        let request = VisionRequest(
            model: model ?? (configuration.models.vision ?? ""), projector: projector ?? (configuration.models.visionProjector ?? ""),
            prompt: prompt ?? "", image: Array(image), maxTokens: UInt32(clamping: max(0, maxTokens)))
        let response = try await perform(.vision(request), timeout: configuration.timeouts.ocr, label: "vision OCR")
        guard case .text(let result) = response else {
            throw WorkerError(.protocolViolation, "the worker answered a vision request with \(Self.describe(response))")
        }
        return result
    }

    /// Reads the text in an image with Tesseract, in the worker (no model needed; Tesseract and
    /// its language data must be installed on the machine).
    /// - Parameters:
    ///   - image: PNG, JPEG, TIFF or another image Leptonica decodes.
    ///   - language: Tesseract languages joined by `+`, e.g. `eng+deu` (default `eng`).
    /// - Throws: ``WorkerError`` (`.engineUnavailable` when Tesseract or the language is missing,
    ///   saying what to install; `.invalidInput` for an image that cannot be decoded), or
    ///   `CancellationError`.
    public func recognizeText(image: Data, language: String = "eng") async throws -> RecognizedText {
        let response = try await perform(.recognize(language: language, image: Array(image)), timeout: configuration.timeouts.ocr, label: "Tesseract OCR")
        guard case .recognized(let result) = response else {
            throw WorkerError(.protocolViolation, "the worker answered a Tesseract request with \(Self.describe(response))")
        }
        return result
    }

    /// Makes the worker load `model` as its model of `kind` (unloading the previous one) and
    /// waits for the worker to acknowledge.
    /// - Throws: ``WorkerError`` if the model cannot be loaded (the worker stays up).
    public func loadModel(_ model: String, kind: ModelKind = .embedding) async throws {
        try await sendLoadModel(model, kind: kind)
    }

    /// Makes the worker unload its model of `kind` and waits for the acknowledgement.
    /// - Throws: ``WorkerError`` if the worker cannot be reached.
    public func unloadModel(kind: ModelKind = .embedding) async throws {
        try await sendLoadModel("", kind: kind)
    }

    private func sendLoadModel(_ model: String, kind: ModelKind) async throws {
        let response = try await perform(.loadModel(kind: kind, model: model), timeout: configuration.timeouts.load, label: model.isEmpty ? "unload model" : "load model")
        guard case .loaded = response else {
            throw WorkerError(.protocolViolation, "the worker answered a load-model request with \(Self.describe(response))")
        }
    }

    /// Throws `.modelCrashed` at once, without a worker, for a model file known to crash llama.cpp.
    private func refuseKnownBrokenModel(_ model: String) throws(WorkerError) {
        let url = ModelDirectory(url: configuration.models.directory).resolve(model)
        guard !modelsKnownGood.contains(url.path) else { return }
        if let verdict = verdicts.verdict(for: url) {
            throw WorkerError(.modelCrashed, "model \(url.lastPathComponent) crashes llama.cpp (\(verdict.reason)); it was not loaded again. Replace the file to try again.")
        }
        modelsKnownGood.insert(url.path)
    }

    /// The largest frame the current or last worker sent, in bytes; a call of any size keeps
    /// it far below the frame cap.
    public var largestFrameReceived: Int { max(largestFrame, connection?.largestFrameReceived ?? 0) }

    // MARK: - Requests

    private func perform(
        _ request: WorkerRequest, timeout: Duration?, label: String, retryOnLoss: Bool = true, freshWorker: Bool = false
    ) async throws -> WorkerResponse {
        // The place in line is taken here, on the actor, so callers are served in arrival order.
        let ticket = requestLock.enter()
        if ticket.waiting > 0 { emit(.queued(waiting: ticket.waiting)) }
        try await requestLock.wait(for: ticket)
        defer { requestLock.release() }
        if freshWorker, connection != nil, requestsOnConnection > 0 {
            await stop()
        }
        let stops = stopCount
        var attempt = 1
        while true {
            try Task.checkCancellation()
            do {
                let connection = try await runningConnection()
                return try await exchange(request, on: connection, timeout: timeout, label: label)
            } catch let error as WorkerError where error.code == .modelCrashed {
                // Load the model once more on a fresh worker before judging it: a one-off
                // crash must not condemn a good file.
                guard attempt == 1, let model = crashedModel else {
                    // Under a memory limit the model may simply not fit: no verdict on the file.
                    if let model = crashedModel, configuration.engine.memoryLimit == nil {
                        verdicts.record(URL(fileURLWithPath: model), reason: "\(ModelLoadMarker.nativeReason(in: error.logTail ?? "").map { $0 + ", " } ?? "")\(error.exitStatus.map(String.init(describing:)) ?? "crashed")")
                        modelsKnownGood.remove(model)
                    }
                    throw error
                }
                logger.warning("worker crashed while loading \(model); loading it once more before judging it")
                restartCount += 1
                emit(.retrying(label: label))
                attempt += 1
            } catch let error as WorkerError where [.crashed, .protocolViolation, .timedOut].contains(error.code) {
                if stopCount != stops {
                    throw WorkerError(.stopped, "the worker was stopped during \(label)")
                }
                guard retryOnLoss else { throw error }
                guard attempt == 1 else {
                    throw WorkerError(error.code, "\(error.message) (again, after a restart)", exitStatus: error.exitStatus, logTail: error.logTail)
                }
                logger.warning("worker lost during \(label): \(error.message) (\(error.exitStatus.map(String.init(describing:)) ?? "?")); restarting and retrying once")
                restartCount += 1
                emit(.retrying(label: label))
                attempt += 1
            }
        }
    }

    private func exchange(_ request: WorkerRequest, on connection: ChildConnection, timeout: Duration?, label: String) async throws -> WorkerResponse {
        requestsOnConnection += 1
        nextRequestID += 1
        let id = nextRequestID
        connection.expect(id)
        let grace = configuration.timeouts.cancelGrace
        var timer: Task<Void, Never>?
        if let timeout {
            timer = Task.detached {
                guard (try? await Task.sleep(for: timeout)) != nil else { return }
                connection.abandon(id, with: RequestTimedOut())
            }
        }
        defer { timer?.cancel() }
        let response: WorkerResponse
        do {
            try await connection.send(request.frame(requestID: id))
            emit(.sent(requestID: id, label: label, items: Self.items(in: request)))
            response = try await withTaskCancellationHandler {
                try await connection.awaitResponse()
            } onCancel: {
                connection.sendDetached(WorkerRequest.cancel.frame(requestID: id))
                Task.detached {
                    guard (try? await Task.sleep(for: grace)) != nil else { return }
                    connection.abandon(id, with: CancelGraceExpired())
                }
            }
        } catch is RequestTimedOut {
            let status = await discard(connection)
            emit(.lost(pid: connection.process.pid, status: status, code: .timedOut))
            throw WorkerError(.timedOut, "the worker did not answer \(label) within \(timeout.map(String.init(describing:)) ?? "?"); it was killed", exitStatus: status, logTail: await logTail(of: connection))
        } catch is CancelGraceExpired {
            logger.warning("worker \(connection.process.pid) did not stop \(label) within \(grace) of a cancel; killing it")
            await discard(connection)
            throw CancellationError()
        } catch let error as WireError {
            let status = await discard(connection)
            emit(.lost(pid: connection.process.pid, status: status, code: .protocolViolation))
            throw WorkerError(.protocolViolation, "the worker broke the protocol during \(label): \(error)", exitStatus: status, logTail: await logTail(of: connection))
        } catch is ChildConnection.Closed {
            let status = await reapLost(connection)
            let tail = await logTail(of: connection)
            let whole = connection.log?.text() ?? ""
            // Only a crash the model itself can cause counts against it; a SIGKILL or SIGTERM
            // during a load came from outside (a person, the OOM killer). Under a memory limit an
            // abort may just mean the model does not fit, which is said instead.
            let selfInflicted: Set<Int32> = [SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP]
            if case .signaled(let signal) = status, selfInflicted.contains(signal), let model = ModelLoadMarker.unfinishedLoad(in: whole, pid: connection.process.pid) {
                crashedModel = model
                emit(.lost(pid: connection.process.pid, status: status, code: .modelCrashed))
                let name = URL(fileURLWithPath: model).lastPathComponent
                let reason = ModelLoadMarker.nativeReason(in: tail) ?? "no reason in the log"
                if let limit = configuration.engine.memoryLimit {
                    throw WorkerError(
                        .modelCrashed, "model \(name) could not be loaded within the worker's memory limit of \(limit / 1_048_576) MiB: \(reason)",
                        exitStatus: status, logTail: tail)
                }
                throw WorkerError(.modelCrashed, "model \(name) crashes llama.cpp at load or its first decode: \(reason)", exitStatus: status, logTail: tail)
            }
            emit(.lost(pid: connection.process.pid, status: status, code: .crashed))
            throw WorkerError(.crashed, lossMessage("the worker exited unexpectedly during \(label)", status: status, tail: tail), exitStatus: status, logTail: tail)
        }
        emit(.answered(requestID: id))
        if case .failure(let failure) = response {
            if failure.code == .cancelled { throw CancellationError() }
            throw WorkerError(failure.code, failure.message)
        }
        if Task.isCancelled { throw CancellationError() }
        return response
    }

    // MARK: - Worker lifecycle

    private func runningConnection() async throws(WorkerError) -> ChildConnection {
        if let connection, !connection.isClosed, connection.process.exitStatus == nil { return connection }
        if let connection { await discard(connection) }
        return try await launch()
    }

    private func launch() async throws(WorkerError) -> ChildConnection {
        Self.ignoreSIGPIPE
        let executable = try WorkerExecutable.locate(configured: configuration.launch.executable)
        let logFD = try openLog()
        let arguments = configuration.launch.arguments
            + ["--settings", configuration.workerSettings.json(), "--parent-pid", "\(getpid())"]
        // Swift's crash backtracer and ggml's gdb backtrace take seconds and bury the worker's last
        // words under thread dumps; they stay off unless the caller's environment turns them on.
        let quietCrashes = ["SWIFT_BACKTRACE": "enable=no", "GGML_NO_BACKTRACE": "1"]
        let environment = quietCrashes.merging(ProcessInfo.processInfo.environment) { $1 }.merging(configuration.launch.environment) { $1 }
            .merging([WorkerInvocation.environmentKey: "1"]) { $1 }
            // Tesseract (OpenMP) would otherwise start a thread per core in every worker: N
            // workers on N cores would oversubscribe. llama.cpp's own thread count is the same.
            .merging(configuration.engine.threads.map { ["OMP_THREAD_LIMIT": "\($0)"] } ?? [:]) { current, _ in current }
        // The worker's standard error goes through a pipe that the host copies into the log
        // file, so that error messages quote this worker's own lines (WorkerLogPump).
        var errorPipe: [Int32] = [-1, -1]
        guard wb_pipe_cloexec(&errorPipe) == 0 else {
            close(logFD)
            throw WorkerError(.spawnFailed, "pipe failed: \(String(cString: strerror(errno)))")
        }
        let spawned: (process: ChildProcess, requestFD: Int32, responseFD: Int32)
        do {
            spawned = try await ChildProcess.spawnWorker(executable: executable.path, arguments: arguments, environment: environment, logFD: errorPipe[1])
        } catch {
            for fd in errorPipe + [logFD] { close(fd) }
            throw error
        }
        close(errorPipe[1])
        let process = spawned.process
        let log = WorkerLogPump(pipe: errorPipe[0], file: logFD, label: "\(process.pid)")
        spawnCount += 1
        let connection = ChildConnection(process: process, requestFD: spawned.requestFD, responseFD: spawned.responseFD, log: log, logger: logger)
        let startTimeout = configuration.timeouts.start
        let timer = Task.detached { () -> Bool in
            guard (try? await Task.sleep(for: startTimeout)) != nil else { return false }
            process.send(signal: SIGKILL)
            return true
        }
        defer { timer.cancel() }
        let hello: WorkerHello
        do {
            hello = try await connection.awaitHello()
        } catch let error as WireError {
            let status = await discard(connection)
            throw WorkerError(.protocolViolation, "the worker broke the protocol while starting: \(error)", exitStatus: status, logTail: await logTail(of: connection))
        } catch {
            let status = await reapLost(connection)
            timer.cancel()
            if await timer.value {
                throw WorkerError(.timedOut, "the worker did not start within \(startTimeout); it was killed", exitStatus: status, logTail: await logTail(of: connection))
            }
            let tail = await logTail(of: connection)
            let refusal = tail.split(separator: "\n").last { $0.contains("refusing to start: ") }.map { String($0[$0.range(of: "refusing to start: ")!.upperBound...]) }
            throw WorkerError(
                refusal != nil ? .spawnFailed : .crashed,
                refusal.map { "the worker refused to start: \($0)" } ?? lossMessage("the worker exited while starting", status: status, tail: tail),
                exitStatus: status, logTail: tail)
        }
        guard hello.protocolVersion == WireProtocol.version else {
            let status = await discard(connection)
            let mismatch = WireError(.versionMismatch, "the worker speaks protocol \(hello.protocolVersion), this host \(WireProtocol.version)")
            throw WorkerError(.protocolViolation, "\(mismatch) (is \(executable.path) from another WorkerBee version?)", exitStatus: status)
        }
        self.hello = hello
        self.connection = connection
        requestsOnConnection = 0
        emit(.spawned(pid: hello.pid))
        logger.info("worker \(hello.pid) started: \(hello.buildInfo)")
        return connection
    }

    private func forget(_ connection: ChildConnection) {
        largestFrame = max(largestFrame, connection.largestFrameReceived)
        if self.connection === connection { self.connection = nil }
    }

    /// Kills and reaps a worker that is no longer trusted, and forgets it.
    @discardableResult
    private func discard(_ connection: ChildConnection) async -> ExitStatus {
        forget(connection)
        let status = await connection.process.terminate()
        connection.close()
        return status
    }

    /// Reaps a worker whose output ended (it normally exits by itself), and forgets it.
    private func reapLost(_ connection: ChildConnection) async -> ExitStatus {
        forget(connection)
        let status = await connection.process.stop(steps: [(nil, .seconds(2))])
        connection.close()
        return status
    }

    private func openLog() throws(WorkerError) -> Int32 {
        let url = configuration.launch.logURL
        try? FileManager.default.createDirectory(at: configuration.launch.logDirectory, withIntermediateDirectories: true)
        if let size = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? UInt64, size > 16 << 20 {
            let old = url.appendingPathExtension("1")
            try? FileManager.default.removeItem(at: old)
            try? FileManager.default.moveItem(at: url, to: old)
        }
        let fd = open(url.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw WorkerError(.spawnFailed, "cannot open the worker log \(url.path): \(String(cString: strerror(errno)))")
        }
        return fd
    }

    /// The end of what `connection`'s worker wrote, once its output has ended (at most 2 s).
    private func logTail(of connection: ChildConnection) async -> String {
        guard let log = connection.log else { return "" }
        await log.waitForEnd(timeout: .seconds(2))
        return log.tail()
    }

    private static let ignoreSIGPIPE: Void = {
        signal(SIGPIPE, SIG_IGN)
    }()

    /// Thrown into a pending wait when its timeout fires.
    private struct RequestTimedOut: Error {}
    /// Thrown into a pending wait when a cancelled request did not stop within the grace period.
    private struct CancelGraceExpired: Error {}

    /// A loss in one line: the native reason first (ggml's `file:line: message`), then what
    /// happened; and for SIGILL, what to do about it.
    private func lossMessage(_ what: String, status: ExitStatus, tail: String) -> String {
        Self.lossMessage(what, status: status, tail: tail, memoryLimit: configuration.engine.memoryLimit)
    }

    private static func lossMessage(_ what: String, status: ExitStatus, tail: String, memoryLimit: Int?) -> String {
        var text = ModelLoadMarker.nativeReason(in: tail).map { "\($0): " } ?? ""
        text += what
        if let limit = memoryLimit, case .signaled(let signal) = status, signal == SIGABRT || signal == SIGSEGV || signal == SIGKILL {
            text += " (the worker's memory limit is \(limit / 1_048_576) MiB; an allocation that did not fit ends a worker like this)"
        }
        if status == .signaled(SIGILL) {
            text += "; an illegal instruction usually means llama.cpp was built for another CPU (a copied WorkerBee home, a moved VM): rebuild it with `rm -rf \(ModelDirectory.home.path)/llama && scripts/bootstrap`"
        }
        return text
    }

    private static func items(in request: WorkerRequest) -> Int {
        switch request {
        case .embed(let embed): embed.texts.count
        case .embedTokens(_, _, let tokens): tokens.count
        case .tokenize(_, let texts): texts.count
        case .vision, .recognize: 1
        default: 0
        }
    }

    private static func describe(_ response: WorkerResponse) -> String {
        switch response {
        case .hello: "a second hello"
        case .embeddings(let result): "\(result.count) embeddings"
        case .text: "text"
        case .loaded: "a load acknowledgement"
        case .tokens(let tokens): "\(tokens.count) token lists"
        case .recognized: "recognized text"
        case .failure(let failure): "a failure (\(failure.code))"
        }
    }
}
