import Foundation

/// Reads the end of the worker log, for error messages.
enum LogTail {
    /// The last `lines` lines written to `url` after byte `offset`, at most `maxBytes` of them.
    static func read(_ url: URL, after offset: UInt64, lines: Int = 20, maxBytes: Int = 8192) -> String {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return "" }
        defer { try? handle.close() }
        let end = (try? handle.seekToEnd()) ?? 0
        let start = max(offset, end > UInt64(maxBytes) ? end - UInt64(maxBytes) : 0)
        guard end > start else { return "" }
        try? handle.seek(toOffset: start)
        let data = (try? handle.read(upToCount: Int(end - start))) ?? Data()
        let text = String(decoding: data, as: UTF8.self)
        return text.split(separator: "\n", omittingEmptySubsequences: true).suffix(lines).joined(separator: "\n")
    }
}
