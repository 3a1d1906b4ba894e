/// An error from reading, writing or converting a model file.
public struct GGUFError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What kind of failure this is. New codes may be added; switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }

        /// The file ends before a value it announces.
        public static let truncated = Code(name: "truncated")
        /// The file does not start with the GGUF magic.
        public static let notGGUF = Code(name: "notGGUF")
        /// A GGUF version this reader does not know.
        public static let unsupportedVersion = Code(name: "unsupportedVersion")
        /// A value is out of range or inconsistent (bad type id, bad alignment, overlapping tensors...).
        public static let corrupt = Code(name: "corrupt")
        /// A key or tensor the caller needs is missing.
        public static let missing = Code(name: "missing")
        /// A model directory describes an architecture the converter cannot convert.
        public static let unsupportedArchitecture = Code(name: "unsupportedArchitecture")
        /// A model directory is incomplete or inconsistent.
        public static let invalidModel = Code(name: "invalidModel")
        /// Reading or writing a file failed.
        public static let io = Code(name: "io")
    }

    /// What kind of failure this is.
    public let code: Code
    /// A sentence for a person: what went wrong and where.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
