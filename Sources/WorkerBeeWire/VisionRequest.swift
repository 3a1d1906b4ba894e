import BinaryCoding

/// An image to read.
public struct VisionRequest: Sendable, Equatable {
    /// Model name or path; empty means the worker's configured default.
    public var model: String
    /// Projector (mmproj) path; empty means discover it next to the model.
    public var projector: String
    /// The instruction; empty means the default OCR instruction.
    public var prompt: String
    /// PNG or JPEG bytes.
    public var image: [UInt8]
    /// Cap on generated tokens; 0 means bounded only by the context.
    public var maxTokens: UInt32

    /// Creates a request.
    public init(model: String, projector: String = "", prompt: String = "", image: [UInt8], maxTokens: UInt32 = 0) {
        self.model = model
        self.projector = projector
        self.prompt = prompt
        self.image = image
        self.maxTokens = maxTokens
    }
}
