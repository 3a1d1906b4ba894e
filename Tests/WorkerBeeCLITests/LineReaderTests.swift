import Foundation
import Testing
import WorkerBeeTestSupport

@testable import WorkerBeeCLI

/// The input reader's thread: it delivers every line in order through its small buffer, and it
/// ends (closing the file it opened) when its consumer stops early instead of waiting forever
/// for buffer space.
@Suite struct LineReaderTests {
    @Test func everyLineArrivesInOrderThroughASmallBuffer() async throws {
        let file = try Self.file(lines: 1_000)
        defer { try? FileManager.default.removeItem(at: file) }
        let fd = open(file.path, O_RDONLY | O_CLOEXEC)
        try #require(fd >= 0)
        var numbers: [Int] = []
        var texts: [String] = []
        for try await line in LineReader(fileDescriptor: fd, source: "test", closeWhenDone: true, capacity: 4) {
            numbers.append(line.number)
            texts.append(String(decoding: line.bytes, as: UTF8.self))
        }
        #expect(numbers == Array(1...1_000))
        #expect(texts == (0..<1_000).map { "line \($0)" })
    }

    @Test func aConsumerThatStopsEarlyEndsTheReaderAndItClosesItsFile() async throws {
        let file = try Self.file(lines: 1_000)
        defer { try? FileManager.default.removeItem(at: file) }
        let fd = open(file.path, O_RDONLY | O_CLOEXEC)
        try #require(fd >= 0)
        var opened = stat()
        try #require(fstat(fd, &opened) == 0)
        let (device, inode) = (opened.st_dev, opened.st_ino)

        // More lines than the buffer holds: the reader thread is left waiting for space.
        let first = try await Self.firstLine(of: LineReader(fileDescriptor: fd, source: "test", closeWhenDone: true, capacity: 4))
        #expect(first?.number == 1)

        // The thread closes the descriptor as it ends. Once closed, the number either names nothing
        // or has been reused by another test's open, for another file.
        let closed = await ProcessProbe.poll(timeout: .seconds(10)) {
            var now = stat()
            return fstat(fd, &now) != 0 || now.st_dev != device || now.st_ino != inode
        }
        #expect(closed, "the reader thread still holds its file 10 s after its consumer stopped")
    }

    /// Reads one line and drops the reader (and its iterator).
    private static func firstLine(of reader: LineReader) async throws -> LineReader.Line? {
        for try await line in reader { return line }
        return nil
    }

    private static func file(lines: Int) throws -> URL {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-lines-\(UUID().uuidString).txt")
        try Data((0..<lines).map { "line \($0)\n" }.joined().utf8).write(to: file)
        return file
    }
}
