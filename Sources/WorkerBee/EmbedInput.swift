/// What to embed: texts, or token ids as ``WorkerProcess/tokenize(_:model:)`` gives them
/// (special tokens included; sequences longer than the model's context are truncated). An array
/// literal of strings is texts: `worker.embed(["hello", "world"])`.
public enum EmbedInput: Sendable, Equatable, ExpressibleByArrayLiteral {
    /// Texts.
    case texts([String])
    /// Token-id sequences.
    case tokens([[Int32]])

    /// Texts from an array literal.
    public init(arrayLiteral texts: String...) { self = .texts(texts) }

    /// The number of inputs.
    public var count: Int {
        switch self {
        case .texts(let texts): texts.count
        case .tokens(let tokens): tokens.count
        }
    }
}
