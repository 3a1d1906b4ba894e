import Foundation
import NIOCore

/// The JSON bodies the routes accept, decoded strictly (a token id must be an integer, a
/// dimension count too), with unknown fields ignored as the APIs' own servers do.
enum RequestBodies {
    /// OpenAI's `POST /v1/embeddings` body.
    struct OpenAIEmbeddings: Decodable {
        let input: OpenAIInput?
        let model: String?
        let encodingFormat: String?
        let dimensions: Int?
        let user: String?
        /// TEI's `normalize` (default true): false gives the model's vectors as they are.
        let normalize: Bool?
        /// TEI's `prompt_name`: one of the model's prompts, put before every input.
        let promptName: String?
        /// Cohere's `input_type` (`search_query`, `search_document`, `classification`,
        /// `clustering`), mapped to the model's prompts.
        let inputType: String?
        /// TEI's `truncation_direction`: `right` (default) cuts the end of an over-long input,
        /// `left` its start.
        let truncationDirection: String?

        enum CodingKeys: String, CodingKey {
            case input, model, dimensions, user, normalize
            case truncationDirection = "truncation_direction"
            case promptName = "prompt_name"
            case inputType = "input_type"
            case encodingFormat = "encoding_format"
        }
    }

    /// OpenAI's `input`: a string, strings, token ids, or lists of token ids.
    enum OpenAIInput: Decodable {
        case texts([String])
        case tokens([[Int32]])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                self = .texts([text])
            } else if let texts = try? container.decode([String].self) {
                self = .texts(texts)
            } else if let tokens = try? container.decode([Int32].self) {
                self = .tokens(tokens.isEmpty ? [] : [tokens])
            } else if let lists = try? container.decode([[Int32]].self) {
                self = .tokens(lists)
            } else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "input must be a string, an array of strings, an array of token ids or an array of arrays of token ids")
            }
        }

        var count: Int {
            switch self {
            case .texts(let texts): texts.count
            case .tokens(let tokens): tokens.count
            }
        }
    }

    /// Ollama's `POST /api/embed` body (`options` is accepted and ignored).
    struct OllamaEmbed: Decodable {
        let model: String?
        let input: OllamaInput?
        let truncate: Bool?
        let dimensions: Int?
        let keep_alive: KeepAliveValue?
        let prompt_name: String?
        let input_type: String?
        let truncation_direction: String?
    }

    /// Ollama's `input`: a string or strings.
    enum OllamaInput: Decodable {
        case texts([String])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                self = .texts([text])
            } else if let texts = try? container.decode([String].self) {
                self = .texts(texts)
            } else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "input must be a string or an array of strings")
            }
        }
    }

    /// Ollama's older `POST /api/embeddings` body.
    struct OllamaEmbeddings: Decodable {
        let model: String?
        let prompt: String?
        let keep_alive: KeepAliveValue?
    }

    /// `POST /tokenize`: `content` (as llama-server) or `text`.
    struct Tokenize: Decodable {
        let model: String?
        let content: String?
        let text: String?
    }

    /// Decodes `body` as `T`, or a 400 that says what is wrong.
    /// The body of `POST /v1/rerank`, `/v1/reranking` and `/rerank`: Cohere's, Jina's and
    /// llama-server's shape (`documents`, `top_n`, `return_documents`), or TEI's (`texts`,
    /// `raw_scores`, `return_text`, `truncate`, `truncation_direction`).
    struct Rerank: Decodable {
        let model: String?
        let query: String?
        let documents: [RerankDocument]?
        let texts: [String]?
        let topN: Int?
        let returnDocuments: Bool?
        let returnText: Bool?
        let rawScores: Bool?
        let truncate: Bool?
        let truncationDirection: String?

        enum CodingKeys: String, CodingKey {
            case model, query, documents, texts, truncate
            case topN = "top_n"
            case returnDocuments = "return_documents"
            case returnText = "return_text"
            case rawScores = "raw_scores"
            case truncationDirection = "truncation_direction"
        }
    }

    /// A document to rerank: a string, or an object with `text` (Cohere's and Jina's form).
    struct RerankDocument: Decodable {
        let text: String

        private enum Keys: String, CodingKey { case text }

        init(from decoder: any Decoder) throws {
            if let text = try? decoder.singleValueContainer().decode(String.self) {
                self.text = text
                return
            }
            guard let object = try? decoder.container(keyedBy: Keys.self), let text = try? object.decode(String.self, forKey: .text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "a document must be a string or an object with a string text"))
            }
            self.text = text
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, from body: ByteBuffer) throws -> T {
        let data = Data(buffer: body)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty {
            throw APIError.badRequest("the body is not valid JSON")
        } catch DecodingError.typeMismatch(_, let context), DecodingError.dataCorrupted(let context) {
            let field = context.codingPath.first?.stringValue
            throw APIError.badRequest("\(field.map { "\($0): " } ?? "")\(context.debugDescription)", param: field)
        } catch DecodingError.valueNotFound(_, let context), DecodingError.keyNotFound(_, let context) {
            throw APIError.badRequest("\(context.debugDescription)", param: context.codingPath.first?.stringValue)
        } catch {
            throw APIError.badRequest("the body is not a valid request: \(error)")
        }
    }
}
