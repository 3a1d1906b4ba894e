internal import CWorkerBeeSystem
import Dispatch
import Foundation
import Logging
import Synchronization
import WorkerBeeWire

/// The host's side of one running worker: frames in and out over its pipes.
///
/// A thread of the connection's own reads the worker's output with blocking `read(2)` and
/// decodes frames in place (the bytes of a frame are copied once, from the pipe into the
/// decoder); writes run on a serial queue of the connection's own. No cooperative thread ever
/// waits on a pipe, and no pipe is registered with libdispatch's event loop: on Linux, tearing
/// down a dispatch read source on a pipe races the descriptor's close and now and then crashed the
/// host inside `_dispatch_event_loop_drain` when many workers came and went. The
/// connection expects one answer at a time: the caller names the request id it is waiting for
/// *before* sending, and a frame carrying any other id is discarded and logged, so a late answer
/// can never reach the wrong caller. End of stream or a protocol violation ends the connection
/// for good.
final class ChildConnection: Sendable {
    /// Why the connection ended.
    enum Ending: Sendable {
        case endOfStream
        case violation(WireError)
    }

    /// The worker's output ended.
    struct Closed: Error {}

    private struct State {
        var decoder = FrameDecoder()
        var ending: Ending?
        var expectedID: UInt64?
        var received: Result<WorkerResponse, any Error>?
        var continuation: CheckedContinuation<WorkerResponse, any Error>?
        var helloContinuation: CheckedContinuation<WorkerHello, any Error>?
        var hello: WorkerHello?
        var largestFrame = 0
    }

    let process: ChildProcess
    /// The worker's standard error, when the caller pumps it (``WorkerLogPump``).
    let log: WorkerLogPump?
    private let logger: Logger
    private let writes = DispatchQueue(label: "workerbee.connection.writes")
    private let requestFD: Int32
    private let writeClosed = Atomic(false)
    private let state = Mutex(State())

    /// Takes over the host's ends of a worker's pipes. The response pipe is read until the
    /// worker's output ends (at its exit at the latest) and then closed; the request pipe is
    /// closed by ``close()``.
    init(process: ChildProcess, requestFD: Int32, responseFD: Int32, log: WorkerLogPump? = nil, logger: Logger) {
        self.process = process
        self.log = log
        self.logger = logger
        self.requestFD = requestFD
        let reader = Thread { [self] in
            readUntilEnd(responseFD)
            closeDescriptor(responseFD)
        }
        reader.name = "workerbee-read-\(process.pid)"
        reader.start()
    }

    /// Whether the stream has ended.
    var isClosed: Bool { state.withLock { $0.ending != nil } }

    /// The largest frame received so far, in bytes (length field included).
    var largestFrameReceived: Int { state.withLock { $0.largestFrame } }

    /// Closes the request pipe; writes not yet made fail with ``Closed``. (The response pipe is
    /// closed by its reader when the worker's output ends; callers close the connection once the
    /// worker has exited.)
    func close() {
        guard !writeClosed.exchange(true, ordering: .relaxed) else { return }
        let fd = requestFD
        writes.async { closeDescriptor(fd) }
    }

    /// Waits for the worker's hello.
    func awaitHello() async throws -> WorkerHello {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<WorkerHello, any Error>? = state.withLock { state in
                if let hello = state.hello { return .success(hello) }
                if let ending = state.ending { return .failure(Self.error(for: ending)) }
                state.helloContinuation = continuation
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }

    /// Declares the id of the next answer to deliver; call before sending the request.
    func expect(_ id: UInt64) {
        state.withLock { state in
            state.expectedID = id
            state.received = nil
        }
    }

    /// Writes a frame; resolves once the bytes are in the pipe.
    /// - Throws: ``Closed`` if the worker is gone.
    func send(_ frame: Frame) async throws {
        let bytes = frame.encoded()
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            writes.async { [self] in
                if writeAll(bytes) {
                    continuation.resume()
                } else {
                    continuation.resume(throwing: Closed())
                }
            }
        }
    }

    /// Queues a frame behind the writes queued before it and returns at once; `written` gets
    /// whether its bytes went into the pipe (false: the worker is gone). A request queued this
    /// way is always written before a cancel queued after it.
    func enqueue(_ frame: Frame) -> AsyncLatch<Bool> {
        let bytes = frame.encoded()
        let written = AsyncLatch<Bool>()
        writes.async { [self] in written.set(writeAll(bytes)) }
        return written
    }

    /// Sends a frame without waiting (used for cancels from a cancellation handler).
    func sendDetached(_ frame: Frame) {
        let bytes = frame.encoded()
        writes.async { [self] in _ = writeAll(bytes) }
    }

    /// Writes every byte to the request pipe (on the write queue); false if the pipe is closed or
    /// the worker is gone (SIGPIPE is ignored by the host, so that is `EPIPE`, not a signal).
    private func writeAll(_ bytes: [UInt8]) -> Bool {
        guard !writeClosed.load(ordering: .relaxed) else { return false }
        return bytes.withUnsafeBytes { buffer in
            wb_write_all(requestFD, buffer.baseAddress, buffer.count) == 0
        }
    }

    /// The reader thread's loop: blocking reads until end of stream, an error or a violation.
    private func readUntilEnd(_ fd: Int32) {
        let capacity = 64 << 10
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        defer { buffer.deallocate() }
        while !isClosed {
            let count = wb_read_retrying(fd, buffer.baseAddress!, capacity)
            guard count > 0 else { break }
            consume(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
        end(.endOfStream)
    }

    /// Waits for the answer to the expected id.
    func awaitResponse() async throws -> WorkerResponse {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<WorkerResponse, any Error>? = state.withLock { state in
                if let received = state.received {
                    state.received = nil
                    state.expectedID = nil
                    return received
                }
                state.continuation = continuation
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }

    /// Fails the pending wait for `id` with `error` (a timeout or a cancellation), if still pending.
    func abandon(_ id: UInt64, with error: any Error) {
        deliver(id: id, .failure(error))
    }

    private func consume(_ bytes: UnsafeRawBufferPointer) {
        var frames: [Frame] = []
        var violation: WireError?
        state.withLock { state in
            state.decoder.append(bytes)
            do throws(WireError) {
                while let frame = try state.decoder.next() {
                    state.largestFrame = max(state.largestFrame, 4 + Frame.headerSize + frame.payload.count)
                    frames.append(frame)
                }
            } catch {
                violation = error
            }
        }
        for frame in frames {
            do {
                let response = try WorkerResponse(frame: frame)
                if case .hello(let hello) = response {
                    receiveHello(hello)
                } else {
                    deliver(id: frame.requestID, .success(response))
                }
            } catch {
                violation = error
                break
            }
        }
        if let violation { end(.violation(violation)) }
    }

    private func receiveHello(_ hello: WorkerHello) {
        let continuation = state.withLock { state in
            state.hello = hello
            defer { state.helloContinuation = nil }
            return state.helloContinuation
        }
        continuation?.resume(returning: hello)
    }

    private func deliver(id: UInt64, _ result: Result<WorkerResponse, any Error>) {
        enum Outcome { case resume(CheckedContinuation<WorkerResponse, any Error>), stored, discarded(String) }
        let outcome: Outcome = state.withLock { state in
            guard state.expectedID == id, state.received == nil else {
                return .discarded(state.expectedID.map(String.init) ?? "none")
            }
            if let continuation = state.continuation {
                state.continuation = nil
                state.expectedID = nil
                return .resume(continuation)
            }
            state.received = result
            return .stored
        }
        switch outcome {
        case .resume(let continuation):
            continuation.resume(with: result)
        case .stored:
            break
        case .discarded(let expected):
            if case .success = result {
                logger.warning("discarded a worker answer for request \(id) (waiting for \(expected))", metadata: ["pid": "\(process.pid)"])
            }
        }
    }

    private func end(_ reason: Ending) {
        let (waiting, helloWaiting): (CheckedContinuation<WorkerResponse, any Error>?, CheckedContinuation<WorkerHello, any Error>?) = state.withLock { state in
            guard state.ending == nil else { return (nil, nil) }
            state.ending = reason
            let waiting = state.continuation
            state.continuation = nil
            let helloWaiting = state.helloContinuation
            state.helloContinuation = nil
            if waiting == nil, state.expectedID != nil, state.received == nil { state.received = .failure(Self.error(for: reason)) }
            return (waiting, helloWaiting)
        }
        waiting?.resume(throwing: Self.error(for: reason))
        helloWaiting?.resume(throwing: Self.error(for: reason))
    }

    static func error(for ending: Ending) -> any Error {
        switch ending {
        case .endOfStream: return Closed()
        case .violation(let error): return error
        }
    }
}

/// Closes a descriptor (a free function: inside the connection, `close` is its own method).
private func closeDescriptor(_ fd: Int32) {
    _ = close(fd)
}
