internal import CWorkerBeeSystem
import Foundation
import Logging
import Tracing
import WorkerBeeModels
import WorkerBeeWire

extension WorkerProcess {
    func perform(
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
                return try await exchange(request, on: connection, timeout: timeout, label: label, attempt: attempt)
            } catch let error as WorkerError where error.code == .modelCrashed {
                // Load the model once more on a fresh worker before judging it: a one-off
                // crash must not condemn a good file.
                guard attempt == 1, let model = crashedModel else {
                    // Under a memory limit the model may simply not fit: no verdict on the file.
                    if let model = crashedModel, configuration.engine.memoryLimit == nil {
                        let reason = "\(ModelLoadMarker.nativeReason(in: error.logTail ?? "").map { $0 + ", " } ?? "")\(error.exitStatus.map(String.init(describing:)) ?? "crashed")"
                        // Recording takes a lock other processes may hold: not on this actor.
                        let verdicts = self.verdicts
                        await Task.detached { verdicts.record(URL(fileURLWithPath: model), reason: reason) }.value
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

    /// Sends one request to the worker and reads its answer, in a "worker exchange" span (a child
    /// of the caller's current span: a server's batch) that records the worker's pid, what was
    /// asked, and the error when the exchange fails (a lost worker among them).
    func exchange(_ request: WorkerRequest, on connection: ChildConnection, timeout: Duration?, label: String, attempt: Int = 1) async throws -> WorkerResponse {
        let span = startSpan("worker exchange", ofKind: .client)
        defer { span.end() }
        if span.isRecording {
            span.updateAttributes { attributes in
                attributes["workerbee.worker.pid"] = Int(connection.process.pid)
                attributes["workerbee.worker.request"] = label
                attributes["workerbee.worker.items"] = Self.items(in: request)
                // A request sent again on a restarted worker (retry-once after a loss).
                if attempt > 1 { attributes["workerbee.worker.attempt"] = attempt }
            }
        }
        do {
            return try await roundTrip(request, on: connection, timeout: timeout, label: label, span: span)
        } catch {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error))
            throw error
        }
    }

    /// Sends one request to the worker and reads its answer. The request's timeout and, after
    /// a cancel, the grace period cover the whole exchange, the write included: a worker that
    /// stops reading is killed when they pass, which ends a blocked write.
    private func roundTrip(_ request: WorkerRequest, on connection: ChildConnection, timeout: Duration?, label: String, span: any Span) async throws -> WorkerResponse {
        requestsOnConnection += 1
        nextRequestID += 1
        let id = nextRequestID
        if span.isRecording { span.attributes["workerbee.worker.request_id"] = Int(id) }
        connection.expect(id)
        let grace = configuration.timeouts.cancelGrace
        // A caller cancelled while its worker started sends nothing. Otherwise the request is
        // queued for writing here, before the cancellation handler exists, so that a cancel is
        // always written after the request it cancels (the worker ignores a cancel for an id it
        // has not seen, and would then be killed at the end of the grace period).
        try Task.checkCancellation()
        let deadline = RequestDeadline(connection: connection, requestID: id)
        if let timeout { deadline.expire(after: timeout, reason: .timedOut) }
        let written = connection.enqueue(request.frame(requestID: id))
        emit(.sent(requestID: id, label: label, items: Self.items(in: request)))
        let response: WorkerResponse
        do {
            response = try await withTaskCancellationHandler {
                guard await written.wait(timeout: nil) == true else { throw ChildConnection.Closed() }
                return try await connection.awaitResponse()
            } onCancel: {
                connection.sendDetached(WorkerRequest.cancel.frame(requestID: id))
                deadline.expire(after: grace, reason: .cancelIgnored)
            }
        } catch {
            throw await failure(error, deadline: deadline.finish(), connection: connection, timeout: timeout, label: label)
        }
        if deadline.finish() != nil {
            // A limit passed just as the answer came: the worker is being killed, so it is not
            // kept for the next request, but the answer stands.
            await discard(connection)
        }
        emit(.answered(requestID: id))
        if case .failure(let failure) = response {
            if failure.code == .cancelled { throw CancellationError() }
            throw WorkerError(failure.code, failure.message)
        }
        if Task.isCancelled { throw CancellationError() }
        return response
    }

    /// What a failed exchange throws: the limit that ended it, else what the connection saw.
    private func failure(_ error: any Error, deadline: RequestDeadline.Reason?, connection: ChildConnection, timeout: Duration?, label: String) async -> any Error {
        switch deadline {
        case .timedOut:
            let status = await discard(connection)
            emit(.lost(pid: connection.process.pid, status: status, code: .timedOut))
            return WorkerError(.timedOut, "the worker did not answer \(label) within \(timeout.map(String.init(describing:)) ?? "?"); it was killed", exitStatus: status, logTail: await logTail(of: connection))
        case .cancelIgnored:
            logger.warning("worker \(connection.process.pid) did not stop \(label) within \(configuration.timeouts.cancelGrace) of a cancel; it was killed")
            await discard(connection)
            return CancellationError()
        case nil:
            break
        }
        switch error {
        case let error as WireError:
            let status = await discard(connection)
            emit(.lost(pid: connection.process.pid, status: status, code: .protocolViolation))
            return WorkerError(.protocolViolation, "the worker broke the protocol during \(label): \(error)", exitStatus: status, logTail: await logTail(of: connection))
        case is ChildConnection.Closed:
            return await lostConnection(connection, label: label)
        default:
            return error
        }
    }

    /// The error for a worker whose output ended during `label`: a crash of the model being
    /// loaded, or a plain loss.
    private func lostConnection(_ connection: ChildConnection, label: String) async -> WorkerError {
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
                return WorkerError(
                    .modelCrashed, "model \(name) could not be loaded within the worker's memory limit of \(limit / 1_048_576) MiB: \(reason)",
                    exitStatus: status, logTail: tail)
            }
            return WorkerError(.modelCrashed, "model \(name) crashes llama.cpp at load or its first decode: \(reason)", exitStatus: status, logTail: tail)
        }
        emit(.lost(pid: connection.process.pid, status: status, code: .crashed))
        return WorkerError(.crashed, lossMessage("the worker exited unexpectedly during \(label)", status: status, tail: tail), exitStatus: status, logTail: tail)
    }

    static func items(in request: WorkerRequest) -> Int {
        switch request {
        case .embed(let embed): embed.texts.count
        case .embedTokens(_, _, let tokens): tokens.count
        case .tokenize(_, let texts): texts.count
        case .vision, .recognize: 1
        default: 0
        }
    }

    static func describe(_ response: WorkerResponse) -> String {
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
