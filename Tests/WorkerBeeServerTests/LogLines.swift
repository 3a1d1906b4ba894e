import Logging

/// A logger whose lines a test can wait for: every message at `level` or above, with its
/// metadata, goes into a stream.
struct LogLines: Sendable {
    let logger: Logger
    private let lines: AsyncStream<String>

    init(level: Logger.Level = .debug) {
        let (lines, continuation) = AsyncStream<String>.makeStream()
        self.lines = lines
        var logger = Logger(label: "workerbee.test") { _ in Handler(continuation: continuation) }
        logger.logLevel = level
        self.logger = logger
    }

    /// Waits for the next line that contains every one of `parts` (lines before it are passed
    /// over); nil if the logger is gone first.
    func next(containing parts: String...) async -> String? {
        for await line in lines where parts.allSatisfy(line.contains) { return line }
        return nil
    }

    private struct Handler: LogHandler {
        let continuation: AsyncStream<String>.Continuation
        var metadata: Logger.Metadata = [:]
        var metadataProvider: Logger.MetadataProvider?
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let fields = metadata.merging(event.metadata ?? [:]) { $1 }
            let rendered = fields.keys.sorted().map { "\($0)=\(fields[$0]!)" }.joined(separator: " ")
            continuation.yield("\(event.level) \(event.message) \(rendered)")
        }
    }
}
