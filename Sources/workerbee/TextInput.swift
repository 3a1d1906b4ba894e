import Foundation

/// Reads the texts for `workerbee embed`: JSON strings, one per line, from a file or stdin.
enum TextInput {
    struct BadLine: Error, CustomStringConvertible {
        let source: String
        let line: Int
        let reason: String
        var description: String { "\(source) line \(line): \(reason)" }
    }

    /// Parses `data` as JSON string lines. Blank lines are skipped.
    static func parse(_ data: Data, source: String) throws -> [String] {
        var texts: [String] = []
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let trimmed = line.drop { $0 == 32 || $0 == 9 || $0 == 13 }
            if trimmed.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
            guard let value = try? JSONSerialization.jsonObject(with: Data(line), options: [.fragmentsAllowed]),
                let text = value as? String
            else {
                throw BadLine(source: source, line: lineNumber, reason: "expected a JSON string such as \"some text\"")
            }
            texts.append(text)
        }
        return texts
    }

    /// Reads all of `path` ("-" for stdin).
    static func read(path: String) throws -> [String] {
        if path == "-" {
            return try parse(FileHandle.standardInput.readDataToEndOfFile(), source: "stdin")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BadLine(source: path, line: 0, reason: "cannot read the file")
        }
        return try parse(data, source: path)
    }
}
