import Foundation

/// The prompts a sentence-transformers model was trained with (`config_sentence_transformers.json`:
/// `prompts` and `default_prompt_name`), e.g. e5's `query: ` and `passage: `, kept in the GGUF so
/// that a server can apply them by name. A prompt is text put before the input.
public struct ModelPrompts: Sendable, Equatable, Codable {
    /// The prompts by name.
    public var prompts: [String: String]
    /// The prompt to apply when a request names none (sentence-transformers does the same).
    public var defaultName: String?

    /// The GGUF keys (WorkerBee's own; llama.cpp ignores them).
    static let namesKey = "workerbee.prompts.names"
    static let textsKey = "workerbee.prompts.texts"
    static let defaultKey = "workerbee.prompts.default"

    /// Prompts from their parts.
    public init(prompts: [String: String] = [:], defaultName: String? = nil) {
        self.prompts = prompts
        self.defaultName = defaultName
    }

    /// The prompts a GGUF file carries (none when it carries none).
    public init(gguf: GGUFFile) {
        let names = gguf[Self.namesKey]?.arrayValue?.compactMap(\.stringValue) ?? []
        let texts = gguf[Self.textsKey]?.arrayValue?.compactMap(\.stringValue) ?? []
        prompts = Dictionary(zip(names, texts), uniquingKeysWith: { _, last in last })
        defaultName = gguf[Self.defaultKey]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The prompts in a sentence-transformers folder's `config_sentence_transformers.json`;
    /// nil when it has none.
    /// - Throws: ``GGUFError`` `.invalidModel` when the file is not valid JSON.
    public static func read(directory: URL) throws(GGUFError) -> ModelPrompts? {
        let url = directory.appendingPathComponent("config_sentence_transformers.json")
        guard let data = try? Data(contentsOf: url) else { return nil }
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw GGUFError(.invalidModel, "\(url.lastPathComponent) is not a JSON object")
        }
        let prompts = (json["prompts"] as? [String: String] ?? [:])
        let defaultName = json["default_prompt_name"] as? String
        guard !prompts.isEmpty else { return nil }
        return ModelPrompts(prompts: prompts, defaultName: defaultName.flatMap { prompts[$0] == nil ? nil : $0 })
    }

    /// Writes the prompts into a GGUF being made.
    public func write(into writer: inout GGUFWriter) {
        let names = prompts.keys.sorted()
        writer.set(Self.namesKey, .array(elementType: .string, elements: names.map { .string($0) }))
        writer.set(Self.textsKey, .array(elementType: .string, elements: names.map { .string(prompts[$0]!) }))
        if let defaultName { writer.set(Self.defaultKey, .string(defaultName)) }
    }

    /// The names Cohere's `input_type` values stand for, in the order they are looked up.
    public static let inputTypeNames: [String: [String]] = [
        "search_query": ["search_query", "query"],
        "search_document": ["search_document", "document", "passage"],
        "classification": ["classification"],
        "clustering": ["clustering"],
    ]

    /// The prompt for a request: `name` if given, else the one Cohere's `inputType` maps to, else
    /// the default; "" when the model has none to apply.
    /// - Throws: ``GGUFError`` `.missing` naming the prompts there are, when the request asks for
    ///   one the model does not have.
    public func text(name: String?, inputType: String?) throws(GGUFError) -> String {
        if let name {
            guard let text = prompts[name] else { throw GGUFError(.missing, "the model has no prompt \"\(name)\"; \(described)") }
            return text
        }
        if let inputType {
            guard let candidates = Self.inputTypeNames[inputType] else {
                throw GGUFError(.missing, "input_type must be one of \(Self.inputTypeNames.keys.sorted().joined(separator: ", "))")
            }
            // A model without prompts takes inputs as they are, whatever their purpose (Cohere
            // clients send input_type on every request).
            if prompts.isEmpty { return "" }
            guard let text = candidates.lazy.compactMap({ self.prompts[$0] }).first else {
                throw GGUFError(.missing, "the model has no prompt for input_type \(inputType) (looked for \(candidates.joined(separator: ", "))); \(described)")
            }
            return text
        }
        return defaultName.flatMap { prompts[$0] } ?? ""
    }

    private var described: String {
        prompts.isEmpty ? "it has none" : "it has " + prompts.keys.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
    }
}
