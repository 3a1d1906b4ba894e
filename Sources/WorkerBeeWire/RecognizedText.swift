/// Text Tesseract read from an image.
public struct RecognizedText: Sendable, Equatable {
    /// The text, lines separated by newlines.
    public var text: String
    /// Tesseract's mean word confidence, 0 to 100.
    public var confidence: Int

    /// Creates a result.
    public init(text: String, confidence: Int) {
        self.text = text
        self.confidence = confidence
    }
}
