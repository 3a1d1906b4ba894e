import ArgumentParser
import Foundation

/// The texts of `workerbee embed`: lines of a file or of standard input, in one of the formats
/// below, read as they come.
enum TextInput {
    /// How each input line holds its text.
    enum Format: String, CaseIterable, ExpressibleByArgument {
        /// A JSON string (`"some text"`), or a JSON object whose `--text-field` holds the text.
        case json
        /// The line itself is the text.
        case lines
    }

    /// A line that cannot be used, with where it is and why.
    struct BadLine: Error, CustomStringConvertible {
        let source: String
        let line: Int
        let reason: String
        var description: String { line > 0 ? "\(source) line \(line): \(reason)" : "\(source): \(reason)" }
    }

    /// One text and what goes with it to the output.
    struct Item: Sendable {
        /// The text to embed.
        let text: String
        /// The input object's other fields as a JSON fragment (`"id": 7, "lang": "en"`), copied to
        /// the output line; empty for strings and plain lines.
        let fields: String
        /// Whether the line was not valid UTF-8 and had its bad bytes replaced by U+FFFD.
        let repaired: Bool
    }

    /// Turns one line into an item, or nil for a blank line (skipped in every format but
    /// `lines`, where a blank line is an empty text).
    /// - Throws: ``BadLine``.
    static func parse(_ line: LineReader.Line, format: Format, textField: String, source: String) throws -> Item? {
        let repaired = String(validating: line.bytes, as: UTF8.self) == nil
        if format == .lines {
            return Item(text: String(decoding: line.bytes, as: UTF8.self), fields: "", repaired: repaired)
        }
        if line.bytes.allSatisfy({ $0 == 32 || $0 == 9 }) { return nil }
        let bytes = repaired ? Array(String(decoding: line.bytes, as: UTF8.self).utf8) : line.bytes
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            throw BadLine(source: source, line: line.number, reason: "not JSON; expected a JSON string such as \"some text\" or an object with a \"\(textField)\" field (use --lines for plain text)")
        }
        if let text = value as? String { return Item(text: text, fields: "", repaired: repaired) }
        guard let object = value as? [String: Any] else {
            throw BadLine(source: source, line: line.number, reason: "expected a JSON string or object, found \(type(of: value))")
        }
        guard let text = object[textField] as? String else {
            throw BadLine(source: source, line: line.number, reason: "the object has no string field \"\(textField)\" (choose the field with --text-field)")
        }
        var fields: [String] = []
        for key in object.keys.sorted() where key != textField && key != "index" && key != "embedding" {
            guard let value = object[key],
                let encoded = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys]),
                let name = try? JSONSerialization.data(withJSONObject: key, options: [.fragmentsAllowed])
            else { continue }
            fields.append(String(decoding: name, as: UTF8.self) + ": " + String(decoding: encoded, as: UTF8.self))
        }
        return Item(text: text, fields: fields.joined(separator: ", "), repaired: repaired)
    }

    /// Reads all of `path` ("-" for stdin) as JSON string lines (for benchmarks).
    static func read(path: String) async throws -> [String] {
        var texts: [String] = []
        for try await line in try LineReader.open(path: path) {
            if let item = try parse(line, format: .json, textField: "text", source: path) { texts.append(item.text) }
        }
        return texts
    }
}
