internal import CWorkerBeeSystem
import Foundation
import Synchronization

/// Carries one worker's standard error into its log file, and keeps the end of it in memory.
///
/// The worker writes everything it has to say (its own lines, llama.cpp's and ggml's, a native
/// library's last words before a crash) into a pipe; a thread of the pump's own reads it with
/// blocking `read(2)` and appends whole lines to the log file. Error messages are built from the
/// pump's copy, so they quote this worker only: several WorkerBee processes that share a home
/// write to the same log files, and a tail read back from the file could quote another
/// process's worker. Nothing is lost at a crash: what the worker wrote stays in the pipe after
/// it dies and is read to the end.
final class WorkerLogPump: Sendable {
    /// The end of what the worker wrote, at most about twice `capacity` bytes.
    private let kept = Mutex<[UInt8]>([])
    /// Set when the worker's output has ended and been read to the end.
    private let ended = AsyncLatch<Void>()
    private let capacity: Int

    /// Starts pumping `pipe` (the read end of the worker's standard error) into `file` (a log
    /// opened for appending); both are closed at the end of the worker's output.
    /// - Parameter capacity: bytes kept in memory for ``text(maxBytes:)``.
    init(pipe: Int32, file: Int32, label: String, capacity: Int = 1 << 20) {
        self.capacity = capacity
        let thread = Thread { [self] in
            pump(from: pipe, to: file)
            close(pipe)
            close(file)
            ended.set(())
        }
        thread.name = "workerbee-log-\(label)"
        thread.start()
    }

    /// What the worker wrote, up to the last `maxBytes` bytes (the start may cut a line).
    func text(maxBytes: Int = 1 << 20) -> String {
        kept.withLock { String(decoding: $0.suffix(maxBytes), as: UTF8.self) }
    }

    /// The last `lines` non-empty lines the worker wrote, at most `maxBytes` bytes of them.
    func tail(lines: Int = 20, maxBytes: Int = 8192) -> String {
        text(maxBytes: maxBytes).split(separator: "\n", omittingEmptySubsequences: true).suffix(lines).joined(separator: "\n")
    }

    /// Waits until the worker's output has ended (it has exited and everything it wrote has been
    /// read), or `timeout` has passed: a child of the worker could hold the pipe open.
    func waitForEnd(timeout: Duration) async {
        _ = await ended.wait(timeout: timeout)
    }

    private func pump(from pipe: Int32, to file: Int32) {
        let size = 64 << 10
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        var partial: [UInt8] = []
        while true {
            let count = wb_read_retrying(pipe, buffer.baseAddress!, size)
            guard count > 0 else { break }
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
            keep(bytes)
            // Whole lines only, so lines from several processes appending to one file never
            // cut into each other.
            partial.append(contentsOf: bytes)
            if let lastNewline = partial.lastIndex(of: UInt8(ascii: "\n")) {
                writeAll(partial[...lastNewline], to: file)
                partial.removeSubrange(...lastNewline)
            } else if partial.count >= size {
                writeAll(partial[...], to: file)  // no newline in 64 KiB: not text to keep whole
                partial.removeAll(keepingCapacity: true)
            }
        }
        if !partial.isEmpty { writeAll(partial[...], to: file) }
    }

    private func keep(_ bytes: UnsafeRawBufferPointer) {
        kept.withLock { kept in
            kept.append(contentsOf: bytes)
            if kept.count > 2 * capacity { kept.removeFirst(kept.count - capacity) }
        }
    }

    private func writeAll(_ bytes: ArraySlice<UInt8>, to file: Int32) {
        // A failure means the log cannot be written (disk full); the copy in memory remains.
        _ = bytes.withUnsafeBytes { wb_write_all(file, $0.baseAddress, $0.count) }
    }
}
