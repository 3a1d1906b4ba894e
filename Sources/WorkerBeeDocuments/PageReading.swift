import Foundation
import WorkerBee
import WorkerBeeWire

/// One page's text and where it came from: what `workerbee ocr --json` prints per page and
/// `/v1/ocr` answers per page.
public struct PageReading: Sendable, Equatable, Encodable {
    /// The text.
    public var text: String
    /// `text-layer`, `tesseract` or `vision`.
    public var source: String
    /// Tesseract's mean word confidence (0-100), for `tesseract`.
    public var confidence: Int?
    /// Tokens in the prompt, image tokens included, for `vision`.
    public var promptTokens: Int?
    /// Tokens generated, for `vision`.
    public var generatedTokens: Int?
    /// How long the page took, preparing it included.
    public var seconds: Double

    /// The fields of the JSON line or object for this page (`text`, `source`, `seconds`, and
    /// `confidence` or the token counts when there are any), for the CLI and the server to merge
    /// with their own fields.
    package var fields: [String: Any] {
        var fields: [String: Any] = ["text": text, "source": source, "seconds": seconds]
        if let confidence { fields["confidence"] = confidence }
        if let promptTokens { fields["promptTokens"] = promptTokens }
        if let generatedTokens { fields["generatedTokens"] = generatedTokens }
        return fields
    }
}
