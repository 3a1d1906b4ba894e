import WorkerBeeWire

/// An error from the engine: a model that cannot be loaded or used, bad input, or a cancelled run.
///
/// Its codes are the shared ``FailureCode`` vocabulary, so what the worker reports is what the
/// host sees.
public struct EngineError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What kind of failure this is (`.modelNotFound`, `.invalidModel`, `.loadFailed`,
    /// `.cannotEmbed`, `.inferenceFailed`, `.cancelled`, `.invalidInput`, ...).
    public typealias Code = FailureCode

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
