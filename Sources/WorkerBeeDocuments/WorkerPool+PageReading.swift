import Foundation
import WorkerBee
import WorkerBeeWire

extension WorkerPool {
    /// Reads page `page` of `pages`: from its text layer when it has one and `preferTextLayer`,
    /// else its image through `engine` on the least busy worker (``WorkerPool/readText(in:engine:)``).
    /// - Throws: ``DocumentError`` when the page cannot be prepared, ``WorkerError`` when it
    ///   cannot be read.
    public func read(page: Int, of pages: DocumentPages, engine: OCREngine, preferTextLayer: Bool = true) async throws -> PageReading {
        let clock = ContinuousClock()
        let start = clock.now
        func seconds() -> Double { (clock.now - start).seconds }
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
