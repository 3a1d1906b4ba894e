import BinaryCoding

/// Text read from an image.
public struct VisionResult: Sendable, Equatable {
    /// The generated text.
    public var text: String
    /// Tokens in the prompt, image tokens included.
    public var promptTokens: Int
    /// Tokens generated.
    public var generatedTokens: Int

    /// Creates a result.
    public init(text: String, promptTokens: Int, generatedTokens: Int) {
        self.text = text
        self.promptTokens = promptTokens
        self.generatedTokens = generatedTokens
    }
}
