import Synchronization

/// The texts of `workerbee embed` as an async sequence: the command's arguments, or the lines
/// of a file or standard input parsed as they are read. Counts the lines whose bad UTF-8 was
/// repaired.
struct InputItems: AsyncSequence, Sendable {
    typealias Element = TextInput.Item

    let arguments: [String]
    /// The input file ("-" for stdin), or nil to use the arguments.
    let path: String?
    let format: TextInput.Format
    let textField: String
    private let repaired = Counter()

    init(arguments: [String], path: String?, format: TextInput.Format, textField: String) {
        self.arguments = arguments
        self.path = path
        self.format = format
        self.textField = textField
    }

    /// Lines repaired so far.
    var repairedCount: Int { repaired.value.withLock { $0 } }

    final class Counter: Sendable {
        let value = Mutex(0)
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let items: InputItems
        var lines: LineReader?
        var argumentIndex = 0

        mutating func next() async throws -> TextInput.Item? {
            guard let path = items.path else {
                guard argumentIndex < items.arguments.count else { return nil }
                defer { argumentIndex += 1 }
                return TextInput.Item(text: items.arguments[argumentIndex], fields: "", repaired: false)
            }
            if lines == nil { lines = try LineReader.open(path: path) }
            while let line = try await lines!.next() {
                guard let item = try TextInput.parse(line, format: items.format, textField: items.textField, source: path == "-" ? "stdin" : path) else { continue }
                if item.repaired { items.repaired.value.withLock { $0 += 1 } }
                return item
            }
            return nil
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(items: self) }
}
