/// An error from the engine: a model that cannot be loaded or used, bad input, or a cancelled run.
public struct EngineError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What kind of failure this is. New codes may be added; switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The stable name, also sent over the wire.
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The model file does not exist.
        public static let modelNotFound = Code("modelNotFound")
        /// The file is not a GGUF model llama.cpp can read.
        public static let invalidModel = Code("invalidModel")
        /// llama.cpp refused to load the model or create a context.
        public static let loadFailed = Code("loadFailed")
        /// The model loads but cannot produce embeddings (e.g. a text generator without pooling).
        public static let cannotEmbed = Code("cannotEmbed")
        /// llama.cpp failed while running the model.
        public static let inferenceFailed = Code("inferenceFailed")
        /// The request was cancelled.
        public static let cancelled = Code("cancelled")
        /// The request itself is unusable.
        public static let invalidInput = Code("invalidInput")
        /// The model's output does not have the configured dimension.
        public static let dimensionMismatch = Code("dimensionMismatch")
    }

    /// What kind of failure this is.
    public let code: Code
    /// A sentence for a person.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
