import ArgumentParser

/// Where a command's texts come from when they are not its arguments (`embed`, `rerank`): a
/// file or stdin, one per line, as JSON strings, JSON objects or plain lines.
struct TextInputOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Input file ('-' for stdin; the default when no texts are given).")
    var input: String?

    @Option(help: "Input format: json (a JSON string or object per line) or lines (plain text per line).")
    var format: TextInput.Format = .json

    @Flag(help: "Plain text, one per line (same as --format lines).")
    var lines = false

    @Option(help: "The field holding the text in JSON object lines.")
    var textField: String = "text"

    /// The texts: `arguments` when there are some, else the input file (stdin by default).
    func items(arguments: [String]) -> InputItems {
        InputItems(arguments: arguments, path: arguments.isEmpty ? (input ?? "-") : nil, format: lines ? .lines : format, textField: textField)
    }

    /// Refuses texts given both as arguments and with --input.
    func validate(arguments: [String], noun: String) throws {
        if !arguments.isEmpty && input != nil { throw ValidationError("give \(noun) as arguments or with --input, not both") }
    }
}
