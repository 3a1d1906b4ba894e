internal import CLlama
import Foundation

/// How a reranker joins a query and a document into one sequence, as the model was trained.
///
/// - A GGUF `rerank` chat template (Qwen3-Reranker and other LLM rerankers) is filled in with
///   `{query}` and `{document}` and tokenized with its special tokens, as llama-server does.
/// - A WordPiece (BERT) model takes `[CLS] query [SEP] document [SEP]`, the document and its
///   `[SEP]` in segment 1, as Hugging Face's tokenizer makes a pair.
/// - A model whose tokenizer starts and ends a text (`<s> ... </s>`: RoBERTa, XLM-RoBERTa) takes
///   `<s> query </s></s> document </s>`, as Hugging Face's tokenizer makes a pair.
/// - Any other model takes llama-server's form: its start token, the query, its end and
///   separator tokens, the document, its end token.
enum PairFormat: Equatable {
    /// A prompt with `{query}` and `{document}`.
    case template(String)
    /// `[CLS] query [SEP] document [SEP]`, with segment types.
    case bert(first: Int32, separator: Int32)
    /// Special tokens before the query, between query and document, and after the document.
    case plain(first: [Int32], middle: [Int32], last: [Int32])

    /// The form for a model with this `rerank` template (nil: none) and vocabulary.
    init(template: String?, vocab: OpaquePointer?) {
        if let template, template.contains("{query}"), template.contains("{document}") {
            self = .template(template)
            return
        }
        let bos = llama_vocab_bos(vocab), eos = llama_vocab_eos(vocab), sep = llama_vocab_sep(vocab)
        let addsBOS = llama_vocab_get_add_bos(vocab), addsEOS = llama_vocab_get_add_eos(vocab)
        if llama_vocab_type(vocab) == LLAMA_VOCAB_TYPE_WPM, bos != LLAMA_TOKEN_NULL, sep != LLAMA_TOKEN_NULL {
            self = .bert(first: bos, separator: sep)
        } else if addsBOS, addsEOS, bos != LLAMA_TOKEN_NULL, eos != LLAMA_TOKEN_NULL {
            self = .plain(first: [bos], middle: [eos, eos], last: [eos])
        } else {
            let end = eos != LLAMA_TOKEN_NULL ? eos : sep
            var middle: [Int32] = []
            if addsEOS, end != LLAMA_TOKEN_NULL { middle.append(end) }
            if llama_vocab_get_add_sep(vocab), sep != LLAMA_TOKEN_NULL { middle.append(sep) }
            self = .plain(
                first: addsBOS && bos != LLAMA_TOKEN_NULL ? [bos] : [], middle: middle,
                last: addsEOS && end != LLAMA_TOKEN_NULL ? [end] : [])
        }
    }

    /// The special tokens a pair of this form adds around its two texts (0 for a template, whose
    /// text is counted by tokenizing it).
    var specialTokenCount: Int {
        switch self {
        case .template: 0
        case .bert: 3
        case .plain(let first, let middle, let last): first.count + middle.count + last.count
        }
    }

    /// The pair's tokens from the query's and the document's own tokens (no special tokens), and
    /// each token's segment type (1 for the document and what follows it in the BERT form).
    func join(query: [Int32], document: [Int32]) -> (tokens: [Int32], types: [UInt8]) {
        switch self {
        case .template:
            preconditionFailure("a template pair is tokenized from its filled-in prompt")
        case .bert(let first, let separator):
            let tokens = [first] + query + [separator] + document + [separator]
            let types = [UInt8](repeating: 0, count: query.count + 2) + [UInt8](repeating: 1, count: document.count + 1)
            return (tokens, types)
        case .plain(let first, let middle, let last):
            let tokens = first + query + middle + document + last
            return (tokens, [UInt8](repeating: 0, count: tokens.count))
        }
    }

    /// The template's prompt for a query and a document.
    static func fill(_ template: String, query: String, document: String) -> String {
        // Fill {document} last so that a query holding the text "{document}" stays as it is.
        template.replacingOccurrences(of: "{query}", with: "\u{0}QUERY\u{0}")
            .replacingOccurrences(of: "{document}", with: document)
            .replacingOccurrences(of: "\u{0}QUERY\u{0}", with: query)
    }
}
