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
    /// Prompt and generated tokens, for `vision`.
    public var promptTokens: Int?
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

extension WorkerPool {
    /// Reads page `page` of `pages`: from its text layer when it has one and `preferTextLayer`,
    /// else its image through `engine` on the least busy worker (``WorkerPool/readText(in:engine:)``).
    /// - Throws: ``DocumentError`` when the page cannot be prepared, ``WorkerError`` when it
    ///   cannot be read.
    public func read(page: Int, of pages: DocumentPages, engine: OCREngine, preferTextLayer: Bool = true) async throws -> PageReading {
        let clock = ContinuousClock()
        let start = clock.now
        func seconds() -> Double {
            let elapsed = clock.now - start
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }
        switch try await pages.content(page, preferTextLayer: preferTextLayer) {
        case .text(let text):
            return PageReading(text: text, source: "text-layer", seconds: seconds())
        case .image(let image):
            let reading = try await readText(in: image, engine: engine)
            let source = if case .tesseract = engine { "tesseract" } else { "vision" }
            return PageReading(
                text: reading.text, source: source, confidence: reading.confidence, promptTokens: reading.promptTokens,
                generatedTokens: reading.generatedTokens, seconds: seconds())
        }
    }
}
