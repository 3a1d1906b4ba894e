/// A failure the worker reports for one request; the worker stays up.
public struct WorkerFailure: Sendable, Equatable {
    /// What went wrong, from the shared vocabulary.
    public var code: FailureCode
    /// A sentence for a person.
    public var message: String

    /// Creates a failure.
    public init(code: FailureCode, message: String) {
        self.code = code
        self.message = message
    }
}
