/// The text an OCR engine read in one image.
public struct TextReading: Sendable, Equatable {
    /// The text.
    public var text: String
    /// Tesseract's mean word confidence (0-100); nil for a vision model.
    public var confidence: Int?
    /// Tokens in a vision model's prompt, image tokens included; nil for Tesseract.
    public var promptTokens: Int?
    /// Tokens a vision model generated; nil for Tesseract.
    public var generatedTokens: Int?

    /// A reading from its parts.
    public init(text: String, confidence: Int? = nil, promptTokens: Int? = nil, generatedTokens: Int? = nil) {
        self.text = text
        self.confidence = confidence
        self.promptTokens = promptTokens
        self.generatedTokens = generatedTokens
    }
}
