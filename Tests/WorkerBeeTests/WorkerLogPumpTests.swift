import CWorkerBeeSystem
import Foundation
import Testing
import WorkerBeeTestSupport

@testable import WorkerBee

/// A worker's standard error, carried into the shared log file and kept for error messages.
@Suite(.timeLimit(.minutes(2))) struct WorkerLogPumpTests {
    /// A pipe and a pump on it that appends to `file`; the write end is the caller's.
    static func pump(into file: URL) throws -> (pump: WorkerLogPump, writeEnd: Int32) {
        var ends: [Int32] = [-1, -1]
        try #require(wb_pipe_cloexec(&ends) == 0)
        let fd = open(file.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        try #require(fd >= 0)
        return (WorkerLogPump(pipe: ends[0], file: fd, label: "test"), ends[1])
    }

    static func write(_ text: String, to fd: Int32) {
        _ = text.withCString { Foundation.write(fd, $0, strlen($0)) }
    }

    @Test func twoWorkersWritingHalfLinesToOneLogNeverCutIntoEachOthersLines() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let file = sandbox.directory.appendingPathComponent("shared.log")
        let (first, firstEnd) = try Self.pump(into: file)
        let (second, secondEnd) = try Self.pump(into: file)
        // Each half line is read by its pump before the other worker writes.
        Self.write("first worker begins a line", to: firstEnd)
        #expect(await ProcessProbe.poll { first.text().hasSuffix("begins a line") })
        Self.write("second worker begins a line", to: secondEnd)
        #expect(await ProcessProbe.poll { second.text().hasSuffix("begins a line") })
        Self.write(" and ends it\n", to: firstEnd)
        Self.write(" and ends it too\n", to: secondEnd)
        close(firstEnd)
        close(secondEnd)
        await first.waitForEnd(timeout: .seconds(60))
        await second.waitForEnd(timeout: .seconds(60))
        let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n").sorted()
        #expect(lines == ["first worker begins a line and ends it", "second worker begins a line and ends it too"])
        // Each pump's own copy holds its worker's words only.
        #expect(first.tail() == "first worker begins a line and ends it")
        #expect(second.tail() == "second worker begins a line and ends it too")
    }

    @Test func theLastWordsBeforeTheEndAreKeptEvenWithoutANewline() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let file = sandbox.directory.appendingPathComponent("worker.log")
        let (pump, writeEnd) = try Self.pump(into: file)
        Self.write("loading\nggml.c:12: GGML_ASSERT(x) failed", to: writeEnd)
        close(writeEnd)
        await pump.waitForEnd(timeout: .seconds(60))
        #expect(pump.tail(lines: 1) == "ggml.c:12: GGML_ASSERT(x) failed")
        #expect(try String(contentsOf: file, encoding: .utf8) == "loading\nggml.c:12: GGML_ASSERT(x) failed")
    }

    @Test func waitingForTheEndStopsAtTheTimeoutWhenSomethingHoldsThePipeOpen() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let (pump, writeEnd) = try Self.pump(into: sandbox.directory.appendingPathComponent("worker.log"))
        let started = ContinuousClock.now
        await pump.waitForEnd(timeout: .milliseconds(300))
        let waited = ContinuousClock.now - started
        #expect(waited >= .milliseconds(300) && waited < .seconds(30), "waited \(waited)")
        close(writeEnd)
        let closed = ContinuousClock.now
        await pump.waitForEnd(timeout: .seconds(60))
        #expect(ContinuousClock.now - closed < .seconds(30), "the end was seen when the pipe closed, not at the timeout")
    }
}
