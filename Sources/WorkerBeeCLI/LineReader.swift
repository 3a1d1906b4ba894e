import CWorkerBeeSystem
import Dispatch
import Foundation
import Synchronization

/// The lines of a file or of standard input, read as they arrive, as an async sequence.
///
/// A dedicated thread does the blocking `read(2)` (standard input may be a pipe that waits for
/// its producer; no cooperative thread ever blocks on it) and hands lines over through a
/// bounded buffer: when the consumer falls behind, the thread waits, so memory stays flat
/// however long the input.
///
/// When the reader is released (a `for try await` loop that breaks out early drops it with its
/// iterator), the thread stops at its next line, or at once if it is waiting for buffer space,
/// and closes the descriptor if it owns it. A thread blocked in `read(2)` ends when that read
/// returns (a file's read returns at once; a pipe's, at its next data or end).
final class LineReader: AsyncSequence, Sendable {
    /// One line without its newline (and without a trailing carriage return).
    struct Line: Sendable {
        /// 1-based line number.
        let number: Int
        /// The bytes, as read (not yet checked for UTF-8).
        let bytes: [UInt8]
    }

    typealias Element = Line

    /// What the reader thread and the consumer share. The thread holds only this, never the
    /// reader, so the reader's release is what tells the thread to stop.
    private final class Buffer: Sendable {
        private struct State {
            var lines: [Line] = []
            var head = 0
            var finished = false
            var failure: String?
            var waiter: CheckedContinuation<Void, Never>?
            /// The consumer is gone: the thread delivers nothing more and ends.
            var stopped = false
        }
        private let state = Mutex(State())
        /// Free places in the buffer; the reader thread takes one per line.
        private let space: DispatchSemaphore
        let source: String

        init(source: String, capacity: Int) {
            self.source = source
            // Created at 0 and raised to `capacity`: libdispatch refuses to free a semaphore whose
            // value is below its initial one, which is what a consumer that stops early leaves.
            space = DispatchSemaphore(value: 0)
            for _ in 0..<capacity { space.signal() }
        }

        /// Whether the consumer is gone.
        var isStopped: Bool { state.withLock { $0.stopped } }

        /// Tells the thread to end, waking it if it waits for space.
        func stop() {
            let alreadyStopped = state.withLock { state in
                defer { state.stopped = true }
                return state.stopped
            }
            if !alreadyStopped { space.signal() }
        }

        /// Waits for space and appends `line`; false if the consumer is gone.
        func deliver(_ line: Line) -> Bool {
            space.wait()
            let (stopped, waiter) = state.withLock { state in
                if state.stopped { return (true, nil as CheckedContinuation<Void, Never>?) }
                state.lines.append(line)
                defer { state.waiter = nil }
                return (false, state.waiter)
            }
            waiter?.resume()
            return !stopped
        }

        func finish(failure: String?) {
            let waiter = state.withLock { state in
                state.finished = true
                state.failure = failure
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }

        func next() async throws -> Line? {
            while true {
                enum Step { case line(Line), end, failed(String), wait }
                let step: Step = state.withLock { state in
                    if state.head < state.lines.count {
                        let line = state.lines[state.head]
                        state.head += 1
                        if state.head > 4096 && state.head * 2 > state.lines.count {
                            state.lines.removeFirst(state.head)
                            state.head = 0
                        }
                        return .line(line)
                    }
                    if let failure = state.failure { return .failed(failure) }
                    return state.finished ? .end : .wait
                }
                switch step {
                case .line(let line):
                    space.signal()
                    return line
                case .end:
                    return nil
                case .failed(let reason):
                    throw TextInput.BadLine(source: source, line: 0, reason: reason)
                case .wait:
                    await withCheckedContinuation { continuation in
                        let ready = state.withLock { state in
                            if state.head < state.lines.count || state.finished { return true }
                            state.waiter = continuation
                            return false
                        }
                        if ready { continuation.resume() }
                    }
                }
            }
        }
    }

    private let buffer: Buffer

    /// Starts reading `fd` (closing it at the end, or when the reader is released, when
    /// `closeWhenDone`).
    /// - Parameters:
    ///   - capacity: lines buffered ahead of the consumer.
    init(fileDescriptor fd: Int32, source: String, closeWhenDone: Bool, capacity: Int = 8192) {
        let buffer = Buffer(source: source, capacity: capacity)
        self.buffer = buffer
        let thread = Thread {
            Self.readAll(fd, into: buffer)
            if closeWhenDone { close(fd) }
        }
        thread.name = "workerbee-input"
        thread.start()
    }

    deinit {
        buffer.stop()
    }

    /// Opens `path` ("-" for standard input).
    /// - Throws: ``TextInput/BadLine`` with line 0 if the file cannot be opened.
    static func open(path: String) throws -> LineReader {
        if path == "-" { return LineReader(fileDescriptor: 0, source: "stdin", closeWhenDone: false) }
        let fd = Foundation.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw TextInput.BadLine(source: path, line: 0, reason: "cannot open the file: \(String(cString: strerror(errno)))")
        }
        return LineReader(fileDescriptor: fd, source: path, closeWhenDone: true)
    }

    /// The thread's loop: reads `fd` to its end (or until the consumer is gone) and delivers its lines.
    private static func readAll(_ fd: Int32, into buffer: Buffer) {
        var bytes = [UInt8](repeating: 0, count: 1 << 16)
        var partial: [UInt8] = []
        var number = 0
        while true {
            if buffer.isStopped { return }
            let count = bytes.withUnsafeMutableBytes { wb_read_retrying(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                buffer.finish(failure: "\(buffer.source): read failed: \(String(cString: strerror(errno)))")
                return
            }
            if count == 0 { break }
            var start = 0
            for index in 0..<count where bytes[index] == UInt8(ascii: "\n") {
                partial.append(contentsOf: bytes[start..<index])
                number += 1
                guard buffer.deliver(Line(number: number, bytes: trimmingCarriageReturn(partial))) else { return }
                partial.removeAll(keepingCapacity: true)
                start = index + 1
            }
            partial.append(contentsOf: bytes[start..<count])
        }
        if !partial.isEmpty {
            number += 1
            guard buffer.deliver(Line(number: number, bytes: trimmingCarriageReturn(partial))) else { return }
        }
        buffer.finish(failure: nil)
    }

    private static func trimmingCarriageReturn(_ bytes: [UInt8]) -> [UInt8] {
        bytes.last == UInt8(ascii: "\r") ? Array(bytes.dropLast()) : bytes
    }

    /// The next line; nil at the end of the input.
    /// - Throws: ``TextInput/BadLine`` if reading failed.
    func next() async throws -> Line? {
        try await buffer.next()
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let reader: LineReader
        func next() async throws -> Line? { try await reader.next() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(reader: self) }
}
