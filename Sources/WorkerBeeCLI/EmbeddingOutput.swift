import CWorkerBeeSystem
import Foundation

/// Writes `{"index": i, ..., "embedding": [...]}` lines, in order, to standard output or a file.
///
/// Lines are buffered and written whole, so what is on disk is complete lines, except at worst
/// a torn last line if the process is killed mid-write (`--resume` cuts that off).
struct EmbeddingOutput {
    private let fd: Int32
    private let ownsDescriptor: Bool
    private var buffer: [UInt8] = []

    /// Writes to standard output.
    init() {
        fd = 1
        ownsDescriptor = false
    }

    /// Writes to `path`, after its first `keeping` bytes (the rest is cut off), or from scratch.
    /// - Throws: ``TextInput/BadLine`` with line 0 when the file cannot be opened.
    init(path: String, keeping: UInt64?) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (keeping == nil ? O_TRUNC : 0), 0o644)
        guard fd >= 0 else { throw TextInput.BadLine(source: path, line: 0, reason: "cannot write the file: \(String(cString: strerror(errno)))") }
        if let keeping {
            ftruncate(fd, off_t(keeping))
            lseek(fd, off_t(keeping), SEEK_SET)
        }
        self.fd = fd
        ownsDescriptor = true
    }

    /// How many complete lines `path` holds, and its length up to the end of the last one; a
    /// torn last line is not counted. nil if the file does not exist.
    static func completeLines(in path: String) throws -> (lines: Int, bytes: UInt64)? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw TextInput.BadLine(source: path, line: 0, reason: "cannot read the file to resume")
        }
        defer { try? handle.close() }
        var lines = 0
        var offset: UInt64 = 0
        var lastNewline: UInt64 = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            for (index, byte) in chunk.enumerated() where byte == UInt8(ascii: "\n") {
                lines += 1
                lastNewline = offset + UInt64(index) + 1
            }
            offset += UInt64(chunk.count)
        }
        return (lines, lastNewline)
    }

    /// Adds one line; `fields` is a JSON fragment placed between the index and the vector.
    mutating func write(index: Int, fields: String, vector: [Float]) {
        buffer.append(contentsOf: "{\"index\": \(index), ".utf8)
        if !fields.isEmpty { buffer.append(contentsOf: (fields + ", ").utf8) }
        buffer.append(contentsOf: "\"embedding\": [".utf8)
        for (position, value) in vector.enumerated() {
            if position > 0 { buffer.append(contentsOf: ", ".utf8) }
            buffer.append(contentsOf: (value.isFinite ? value.description : "null").utf8)
        }
        buffer.append(contentsOf: "]}\n".utf8)
        if buffer.count > 1 << 16 { flush() }
    }

    /// Adds the line of a text that has no vector, with why.
    mutating func write(index: Int, fields: String, error: String) {
        let message = (try? JSONSerialization.data(withJSONObject: error, options: [.fragmentsAllowed])).map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
        buffer.append(contentsOf: "{\"index\": \(index), \(fields.isEmpty ? "" : fields + ", ")\"error\": \(message)}\n".utf8)
        if buffer.count > 1 << 16 { flush() }
    }

    /// Writes what is buffered.
    mutating func flush() {
        // A failed write (standard output closed, disk full) drops what is buffered, as before.
        _ = buffer.withUnsafeBytes { wb_write_all(fd, $0.baseAddress, $0.count) }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and closes a file (standard output stays open).
    mutating func close() {
        flush()
        if ownsDescriptor { _ = Foundation.close(fd) }
    }
}
