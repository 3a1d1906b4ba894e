import CWorkerBeeSystem
import Dispatch
import Foundation
import Synchronization
import Testing
import WorkerBeeTestSupport

/// Signals the no-op handler has taken.
private let interruptions = Atomic<Int>(0)

/// `wb_write_all` and `wb_read_retrying`, the read and write loops every pipe of host and worker
/// goes through: a signal that interrupts them (a handler installed without `SA_RESTART`, so the
/// blocked call returns EINTR or a short count) loses and reorders nothing.
@Suite(.serialized) struct RetryingIOTests {
    @Test func aWriteInterruptedBySignalsDeliversEveryByteInOrder() async throws {
        try await Self.withNoOpHandler {
            let (readEnd, writeEnd) = try Self.pipe()
            defer { close(readEnd) }
            let bytes = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 % 251) }
            let before = interruptions.load(ordering: .relaxed)
            let writerDone = Flag()
            async let received = Self.readSlowly(readEnd, untilQuiet: writerDone)
            // The pipe holds 64 KiB; the slow reader keeps the writer blocked most of the time.
            let (result, error) = await SignalledThread.run {
                bytes.withUnsafeBytes { buffer in
                    let result = wb_write_all(writeEnd, buffer.baseAddress, buffer.count)
                    return (result, errno)
                }
            }
            writerDone.raise()
            close(writeEnd)
            #expect(result == 0, "wb_write_all failed: \(String(cString: strerror(error)))")
            let arrived = await received
            // Compared by hand: a failed `==` on a mebibyte would be diffed for minutes.
            #expect(arrived.count == bytes.count)
            let firstDifference = zip(arrived, bytes).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            #expect(firstDifference == nil, "the bytes differ from offset \(firstDifference ?? 0)")
            #expect(interruptions.load(ordering: .relaxed) > before, "no signal reached the writer")
        }
    }

    @Test func aReadInterruptedBySignalsReturnsTheBytesThatArriveLater() async throws {
        try await Self.withNoOpHandler {
            let (readEnd, writeEnd) = try Self.pipe()
            defer {
                close(readEnd)
                close(writeEnd)
            }
            let before = interruptions.load(ordering: .relaxed)
            async let read = SignalledThread.run {
                var buffer = [UInt8](repeating: 0, count: 16)
                let count = buffer.withUnsafeMutableBytes { wb_read_retrying(readEnd, $0.baseAddress, $0.count) }
                return count > 0 ? Array(buffer[0..<count]) : []
            }
            // The reader waits on an empty pipe; the bytes come once signals have interrupted it.
            let interrupted = await ProcessProbe.poll { interruptions.load(ordering: .relaxed) >= before + 20 }
            #expect(interrupted, "the signals did not reach the reader")
            let message = Array("later".utf8)
            #expect(message.withUnsafeBytes { wb_write_all(writeEnd, $0.baseAddress, $0.count) } == 0)
            #expect(await read == message)
        }
    }

    /// Runs `body` with a no-op SIGUSR2 handler installed without `SA_RESTART`.
    private static func withNoOpHandler(_ body: () async throws -> Void) async throws {
        _ = interruptions.load(ordering: .relaxed)  // initialised before any handler runs
        var action = sigaction()
        let handler: @convention(c) (Int32) -> Void = { _ in interruptions.add(1, ordering: .relaxed) }
        #if os(Linux)
            action.__sigaction_handler.sa_handler = handler
        #else
            action.__sigaction_u.__sa_handler = handler
        #endif
        action.sa_flags = 0
        sigemptyset(&action.sa_mask)
        var previous = sigaction()
        try #require(sigaction(SIGUSR2, &action, &previous) == 0)
        defer { sigaction(SIGUSR2, &previous, nil) }
        try await body()
    }

    private static func pipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        try #require(wb_pipe_cloexec(&fds) == 0)
        return (fds[0], fds[1])
    }

    /// Everything `fd` gives until end of file, read 1 KiB at a time on a thread of its own,
    /// each read only after a signal has interrupted the writer since the last one (or once the
    /// writer is done), so the writer is blocked on a full pipe when the signals come.
    private static func readSlowly(_ fd: Int32, untilQuiet writerDone: Flag) async -> [UInt8] {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                var received: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 1024)
                var seen = interruptions.load(ordering: .relaxed)
                while true {
                    seen = awaitInterruption(after: seen, orUntil: writerDone)
                    let count = buffer.withUnsafeMutableBytes { wb_read_retrying(fd, $0.baseAddress, $0.count) }
                    guard count > 0 else { break }
                    received.append(contentsOf: buffer[0..<count])
                }
                continuation.resume(returning: received)
            }
            thread.start()
        }
    }
}

/// Waits, on a thread that may block, until the handler has taken a signal beyond `count` or
/// `flag` is raised (at most 10 s); returns the handler's count then.
private func awaitInterruption(after count: Int, orUntil flag: Flag) -> Int {
    let deadline = ContinuousClock.now.advanced(by: .seconds(10))
    while interruptions.load(ordering: .relaxed) <= count, !flag.isRaised, ContinuousClock.now < deadline { sched_yield() }
    return interruptions.load(ordering: .relaxed)
}

/// A flag one thread raises and others read.
private final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    var isRaised: Bool { value.load(ordering: .sequentiallyConsistent) }
    func raise() { value.store(true, ordering: .sequentiallyConsistent) }
}

/// A thread that runs a blocking call while another thread sends it SIGUSR2, each signal once the
/// handler has taken the one before, until the call returns.
private final class SignalledThread: Sendable {
    private let target = Mutex<pthread_t?>(nil)
    private let finished = Flag()
    private let started = DispatchSemaphore(value: 0)
    /// Raised when the signalling thread has sent its last signal: the target may end then.
    private let quiet = DispatchSemaphore(value: 0)

    /// Runs `body` on a thread of its own, interrupted by signals, and returns what it returns.
    static func run<Result: Sendable>(_ body: @escaping @Sendable () -> Result) async -> Result {
        let shared = SignalledThread()
        return await withCheckedContinuation { continuation in
            let worker = Thread {
                // Threads here start with most signals blocked (the mask is inherited).
                var signals = sigset_t()
                sigemptyset(&signals)
                sigaddset(&signals, SIGUSR2)
                pthread_sigmask(SIG_UNBLOCK, &signals, nil)
                shared.target.withLock { $0 = pthread_self() }
                shared.started.signal()
                let result = body()
                shared.finished.raise()
                shared.quiet.wait()  // never end while a signal may still be sent to this thread
                continuation.resume(returning: result)
            }
            let signaller = Thread {
                shared.started.wait()
                guard let target = shared.target.withLock({ $0 }) else { return }
                var taken = interruptions.load(ordering: .relaxed)
                while !shared.finished.isRaised {
                    pthread_kill(target, SIGUSR2)
                    taken = awaitInterruption(after: taken, orUntil: shared.finished)
                }
                shared.quiet.signal()
            }
            worker.start()
            signaller.start()
        }
    }
}
