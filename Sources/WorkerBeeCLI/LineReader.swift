import Dispatch
import Foundation
import Synchronization

/// The lines of a file or of standard input, read as they arrive, as an async sequence.
///
/// A dedicated thread does the blocking `read(2)` (standard input may be a pipe that waits for
/// its producer; no cooperative thread ever blocks on it) and hands lines over through a
/// bounded buffer: when the consumer falls behind, the thread waits, so memory stays flat
/// however long the input.
final class LineReader: AsyncSequence, Sendable {
    /// One line without its newline (and without a trailing carriage return).
    struct Line: Sendable {
        /// 1-based line number.
        let number: Int
        /// The bytes, as read (not yet checked for UTF-8).
        let bytes: [UInt8]
    }

    typealias Element = Line

    private struct State {
        var lines: [Line] = []
        var head = 0
        var finished = false
        var failure: String?
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())
    /// Free places in the buffer; the reader thread takes one per line.
    private let space: DispatchSemaphore
    private let source: String

    /// Starts reading `fd` (closing it at the end when `closeWhenDone`).
    /// - Parameters:
    ///   - capacity: lines buffered ahead of the consumer.
    init(fileDescriptor fd: Int32, source: String, closeWhenDone: Bool, capacity: Int = 8192) {
        self.source = source
        // Created at 0 and raised to `capacity`: libdispatch refuses to free a semaphore whose
        // value is below its initial one, which is what a consumer that stops early leaves.
        space = DispatchSemaphore(value: 0)
        for _ in 0..<capacity { space.signal() }
        let thread = Thread { [self] in
            readAll(fd)
            if closeWhenDone { close(fd) }
        }
        thread.name = "workerbee-input"
        thread.start()
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

    private func readAll(_ fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var partial: [UInt8] = []
        var number = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                finish(failure: "\(source): read failed: \(String(cString: strerror(errno)))")
                return
            }
            if count == 0 { break }
            var start = 0
            for index in 0..<count where buffer[index] == UInt8(ascii: "\n") {
                partial.append(contentsOf: buffer[start..<index])
                number += 1
                deliver(Line(number: number, bytes: Self.trimmingCarriageReturn(partial)))
                partial.removeAll(keepingCapacity: true)
                start = index + 1
            }
            partial.append(contentsOf: buffer[start..<count])
        }
        if !partial.isEmpty {
            number += 1
            deliver(Line(number: number, bytes: Self.trimmingCarriageReturn(partial)))
        }
        finish(failure: nil)
    }

    private static func trimmingCarriageReturn(_ bytes: [UInt8]) -> [UInt8] {
        bytes.last == UInt8(ascii: "\r") ? Array(bytes.dropLast()) : bytes
    }

    private func deliver(_ line: Line) {
        space.wait()
        let waiter = state.withLock { state in
            state.lines.append(line)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    private func finish(failure: String?) {
        let waiter = state.withLock { state in
            state.finished = true
            state.failure = failure
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// The next line; nil at the end of the input.
    /// - Throws: ``TextInput/BadLine`` if reading failed.
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

    struct AsyncIterator: AsyncIteratorProtocol {
        let reader: LineReader
        func next() async throws -> Line? { try await reader.next() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(reader: self) }
}
