import Foundation

/// A WordPiece vocabulary read from a Hugging Face `tokenizer.json`, in the form llama.cpp's
/// WPM tokenizer expects.
struct WordPieceVocabulary {
    /// llama.cpp token types.
    enum TokenType: Int32 { case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5 }

    var tokens: [String] = []
    var types: [TokenType] = []
    var special: [String: Int] = [:]

    init(directory: URL, vocabularySize: Int) throws(GGUFError) {
        let tokenizer = try SentenceTransformersConverter.readJSON(directory.appendingPathComponent("tokenizer.json"))
        guard let model = tokenizer["model"] as? [String: Any], model["type"] as? String == "WordPiece",
            let vocab = model["vocab"] as? [String: Any]
        else {
            throw GGUFError(.unsupportedArchitecture, "tokenizer.json does not hold a WordPiece model; BERT conversion needs one")
        }
        var byID = [String?](repeating: nil, count: vocabularySize)
        for (token, rawID) in vocab {
            guard let id = (rawID as? NSNumber)?.intValue, id >= 0, id < vocabularySize else {
                throw GGUFError(.invalidModel, "tokenizer.json: token \(token) has id \(rawID), outside the vocabulary of \(vocabularySize)")
            }
            byID[id] = token
        }
        var added: [Int: Bool] = [:]  // id -> special
        for entry in tokenizer["added_tokens"] as? [[String: Any]] ?? [] {
            if let id = (entry["id"] as? NSNumber)?.intValue {
                added[id] = entry["special"] as? Bool ?? false
            }
        }
        for (id, token) in byID.enumerated() {
            guard let token else {
                tokens.append("[PAD\(id)]")
                types.append(.unused)
                continue
            }
            let type: TokenType
            if let isSpecial = added[id] {
                type = isSpecial || Self.looksSpecial(token) ? .control : .userDefined
            } else {
                type = .normal
            }
            types.append(type)
            // llama.cpp's "phantom space" form: word starts get U+2581, continuations lose "##".
            if type == .control {
                tokens.append(token)
            } else if token.hasPrefix("##") {
                tokens.append(String(token.dropFirst(2)))
            } else {
                tokens.append("\u{2581}" + token)
            }
        }
        var names: [String: Any] = [:]
        for file in ["special_tokens_map.json", "tokenizer_config.json"] {
            let url = directory.appendingPathComponent(file)
            if FileManager.default.fileExists(atPath: url.path) {
                names.merge(try SentenceTransformersConverter.readJSON(url)) { old, _ in old }
            }
        }
        for role in ["unk", "sep", "pad", "cls", "mask"] {
            let value = names["\(role)_token"]
            let content = value as? String ?? (value as? [String: Any])?["content"] as? String
            if let content, let id = byID.firstIndex(of: content) {
                special[role] = id
            }
        }
        guard special["cls"] != nil, special["sep"] != nil else {
            throw GGUFError(.invalidModel, "the tokenizer has no [CLS] or [SEP] token; llama.cpp's BERT tokenizer needs both")
        }
    }

    private static func looksSpecial(_ token: String) -> Bool {
        (token.hasPrefix("[") && token.hasSuffix("]")) || (token.hasPrefix("<") && token.hasSuffix(">"))
    }

    func write(to writer: inout GGUFWriter) {
        writer.set("tokenizer.ggml.model", .string("bert"))
        writer.set("tokenizer.ggml.pre", .string("jina-v2-en"))
        writer.set("tokenizer.ggml.tokens", .array(elementType: .string, elements: tokens.map { .string($0) }))
        writer.set("tokenizer.ggml.token_type", .array(elementType: .int32, elements: types.map { .int32($0.rawValue) }))
        let keys = [
            "cls": "tokenizer.ggml.cls_token_id", "sep": "tokenizer.ggml.seperator_token_id",
            "unk": "tokenizer.ggml.unknown_token_id", "pad": "tokenizer.ggml.padding_token_id",
            "mask": "tokenizer.ggml.mask_token_id",
        ]
        for role in ["cls", "sep", "unk", "pad", "mask"] {
            if let id = special[role], let key = keys[role] { writer.set(key, .uint32(UInt32(id))) }
        }
        // llama.cpp's WPM tokenizer starts a text with the BOS id and ends it with the SEP id; BERT
        // has no end-of-generation token, so no EOS id is written.
        if let cls = special["cls"] { writer.set("tokenizer.ggml.bos_token_id", .uint32(UInt32(cls))) }
        writer.set("tokenizer.ggml.add_bos_token", .bool(true))
        writer.set("tokenizer.ggml.add_sep_token", .bool(true))
    }
}
