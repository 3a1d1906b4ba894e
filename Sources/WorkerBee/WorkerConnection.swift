import Dispatch
import Foundation
import Logging
import WorkerBeeWire

/// The host's side of one running worker: frames in and out over its pipes.
///
/// Reads run on a `DispatchIO` channel (no thread waits on the pipe). The connection expects one
/// answer at a time: the caller names the request id it is waiting for *before* sending, and a
/// frame carrying any other id is discarded and logged, so a late answer can never reach the
/// wrong caller. End of stream or a protocol violation ends the connection for good.
final class WorkerConnection: @unchecked Sendable {
    /// Why the connection ended.
    enum Ending: Sendable {
        case endOfStream
        case violation(WireError)
    }

    let process: ChildProcess
    private let logger: Logger
    private let queue = DispatchQueue(label: "workerbee.connection")
    private let readChannel: DispatchIO
    private let writeChannel: DispatchIO
    private let lock = NSLock()
    private var decoder = FrameDecoder()
    private var ending: Ending?
    private var expectedID: UInt64?
    private var received: Result<WorkerResponse, Error>?
    private var continuation: CheckedContinuation<WorkerResponse, Error>?
    private var helloContinuation: CheckedContinuation<WorkerHello, Error>?
    private var hello: WorkerHello?

    init(process: ChildProcess, logger: Logger) {
        self.process = process
        self.logger = logger
        let responseFD = process.responseFD
        let requestFD = process.requestFD
        readChannel = DispatchIO(type: .stream, fileDescriptor: responseFD, queue: queue) { _ in closeDescriptor(responseFD) }
        writeChannel = DispatchIO(type: .stream, fileDescriptor: requestFD, queue: queue) { _ in closeDescriptor(requestFD) }
        readChannel.setLimit(lowWater: 1)
        readChannel.read(offset: 0, length: Int.max, queue: queue) { [weak self] done, data, error in
            guard let self else { return }
            if let data, !data.isEmpty { self.consume(Array(data)) }
            if done { self.end(.endOfStream) }
        }
    }

    /// Whether the stream has ended.
    var isClosed: Bool {
        lock.lock()
        defer { lock.unlock() }
        return ending != nil
    }

    /// Closes both pipes.
    func close() {
        readChannel.close(flags: .stop)
        writeChannel.close(flags: .stop)
    }

    /// Waits for the worker's hello.
    func awaitHello() async throws -> WorkerHello {
        try await withCheckedThrowingContinuation { continuation in
            lock.lock()
            if let hello {
                lock.unlock()
                continuation.resume(returning: hello)
            } else if let ending {
                lock.unlock()
                continuation.resume(throwing: Self.error(for: ending))
            } else {
                helloContinuation = continuation
                lock.unlock()
            }
        }
    }

    /// Declares the id of the next answer to deliver; call before sending the request.
    func expect(_ id: UInt64) {
        lock.lock()
        expectedID = id
        received = nil
        lock.unlock()
    }

    /// Writes a frame; resolves once the bytes are in the pipe.
    /// - Throws: `ConnectionClosed` if the worker is gone.
    func send(_ frame: Frame) async throws {
        let bytes = frame.encoded()
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            let data = bytes.withUnsafeBytes { DispatchData(bytes: $0) }
            var resumed = false
            writeChannel.write(offset: 0, data: data, queue: queue) { done, _, error in
                guard done, !resumed else { return }
                resumed = true
                if error != 0 {
                    continuation.resume(throwing: ConnectionClosed())
                } else {
                    continuation.resume()
                }
            }
        }
    }

    /// Sends a frame without waiting (used for cancels from a cancellation handler).
    func sendDetached(_ frame: Frame) {
        let data = frame.encoded().withUnsafeBytes { DispatchData(bytes: $0) }
        writeChannel.write(offset: 0, data: data, queue: queue) { _, _, _ in }
    }

    /// Waits for the answer to the expected id.
    func awaitResponse() async throws -> WorkerResponse {
        try await withCheckedThrowingContinuation { continuation in
            lock.lock()
            if let received {
                self.received = nil
                expectedID = nil
                lock.unlock()
                continuation.resume(with: received)
            } else {
                self.continuation = continuation
                lock.unlock()
            }
        }
    }

    /// Fails the pending wait for `id` with `error` (a timeout or a cancellation), if still pending.
    func abandon(_ id: UInt64, with error: Error) {
        deliver(id: id, .failure(error))
    }

    private func consume(_ bytes: [UInt8]) {
        lock.lock()
        decoder.append(bytes)
        var frames: [Frame] = []
        var violation: WireError?
        do {
            while let frame = try decoder.next() { frames.append(frame) }
        } catch {
            violation = error
        }
        lock.unlock()
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
        lock.lock()
        self.hello = hello
        let continuation = helloContinuation
        helloContinuation = nil
        lock.unlock()
        continuation?.resume(returning: hello)
    }

    private func deliver(id: UInt64, _ result: Result<WorkerResponse, Error>) {
        lock.lock()
        guard expectedID == id, received == nil else {
            let expected = expectedID.map(String.init) ?? "none"
            lock.unlock()
            if case .success = result {
                logger.warning("discarded a worker answer for request \(id) (waiting for \(expected))", metadata: ["pid": "\(process.pid)"])
            }
            return
        }
        if let continuation {
            self.continuation = nil
            expectedID = nil
            lock.unlock()
            continuation.resume(with: result)
        } else {
            received = result
            lock.unlock()
        }
    }

    private func end(_ reason: Ending) {
        lock.lock()
        if ending != nil {
            lock.unlock()
            return
        }
        ending = reason
        let waiting = continuation
        continuation = nil
        let helloWaiting = helloContinuation
        helloContinuation = nil
        if waiting == nil, expectedID != nil, received == nil { received = .failure(Self.error(for: reason)) }
        lock.unlock()
        waiting?.resume(throwing: Self.error(for: reason))
        helloWaiting?.resume(throwing: Self.error(for: reason))
    }

    static func error(for ending: Ending) -> Error {
        switch ending {
        case .endOfStream: return ConnectionClosed()
        case .violation(let error): return error
        }
    }
}

/// The worker's output ended.
struct ConnectionClosed: Error {}

private func closeDescriptor(_ fd: Int32) {
    _ = close(fd)
}
