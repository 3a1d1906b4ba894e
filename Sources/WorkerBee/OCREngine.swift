import Foundation
import WorkerBeeModels

/// Which engine reads the text in an image.
public enum OCREngine: Sendable, Equatable {
    /// Tesseract in the worker (no model needed; Tesseract and its language data must be
    /// installed), with these languages joined by `+` (`eng`, `eng+deu`).
    case tesseract(language: String = "eng")
    /// A vision language model through llama.cpp's libmtmd.
    case vision(VisionOptions = VisionOptions())

    /// How a vision model reads an image.
    public struct VisionOptions: Sendable, Equatable {
        /// The vision model; nil means the configured one.
        public var model: ModelReference?
        /// The projector (mmproj) file; nil means the configured one, else the one found next to
        /// the model.
        public var projector: URL?
        /// The instruction; nil means the default OCR instruction.
        public var prompt: String?
        /// Most tokens to generate; nil means bounded only by the context.
        public var maxTokens: Int?

        /// Options with the defaults described on each property.
        public init(model: ModelReference? = nil, projector: URL? = nil, prompt: String? = nil, maxTokens: Int? = nil) {
            self.model = model
            self.projector = projector
            self.prompt = prompt
            self.maxTokens = maxTokens
        }
    }
}
