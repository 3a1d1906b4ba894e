import Foundation
import WorkerBee
import WorkerBeeFixtures

/// A cross-encoder's logits computed without llama.cpp: a plain float64 forward pass of the
/// Hugging Face model folder in numpy (Tests/Fixtures/cross_encoder_reference.py), with its own
/// WordPiece tokenizer and the segment types Hugging Face gives a pair.
public struct CrossEncoderReference: Decodable, Sendable {
    /// Each pair's logits (one per label).
    public let logits: [[Float]]
    /// Each pair's token ids.
    public let tokens: [[Int32]]
    /// Each token's segment type.
    public let types: [[Int]]

    /// The script, in the repository.
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Tests/Fixtures/cross_encoder_reference.py")

    /// Scores `pairs` with the model in `folder`; `maxLength` cuts pairs as Hugging Face's
    /// tokenizer does (the document first); `pooler` false leaves BERT's pooler out (the
    /// classifier then reads [CLS] directly, as a GGUF converted without the pooler computes).
    public static func compute(folder: URL, pairs: [(query: String, document: String)], maxLength: Int? = nil, pooler: Bool = true) async throws -> CrossEncoderReference {
        var request: [String: Any] = ["pairs": pairs.map { ["query": $0.query, "document": $0.document] }, "pooler": pooler]
        if let maxLength { request["max_length"] = maxLength }
        guard let python = ExternalProgram.find("python3") else { throw ReferenceError(message: "python3 is needed for the reference") }
        let output = try await StuckProgram.run(
            python, arguments: [script.path, folder.path], stdin: try JSONSerialization.data(withJSONObject: request), environment: [:], timeout: .seconds(300))
        guard case .exited(0) = output.status else {
            throw ReferenceError(message: "the reference failed (\(output.status)): \(String(decoding: output.stderr, as: UTF8.self))")
        }
        return try JSONDecoder().decode(CrossEncoderReference.self, from: output.stdout)
    }

    struct ReferenceError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}
