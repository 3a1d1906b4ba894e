/// The one vocabulary of failures, shared by the worker (which reports them over the wire by
/// ``name``) and the host (which adds the ways a worker can be lost). New codes may be added;
/// switch with a `default`.
public struct FailureCode: Hashable, Sendable, CustomStringConvertible {
    /// The stable name, as sent over the wire.
    public let name: String

    /// A code with this name; unknown names from a newer worker keep their name.
    public init(_ name: String) { self.name = name }

    public var description: String { name }

    // MARK: Reported by the worker for one request; the worker stays up.

    /// The model file does not exist.
    public static let modelNotFound = FailureCode("modelNotFound")
    /// The file is not a GGUF model llama.cpp can read.
    public static let invalidModel = FailureCode("invalidModel")
    /// llama.cpp refused to load the model or create a context.
    public static let loadFailed = FailureCode("loadFailed")
    /// The model loads but cannot produce embeddings (a text generator, a reranker, a projector).
    public static let cannotEmbed = FailureCode("cannotEmbed")
    /// The model cannot score query-document pairs: it is not a reranker (no rank pooling).
    public static let cannotRerank = FailureCode("cannotRerank")
    /// llama.cpp failed while running the model.
    public static let inferenceFailed = FailureCode("inferenceFailed")
    /// The request was cancelled before it finished.
    public static let cancelled = FailureCode("cancelled")
    /// The request itself is unusable, e.g. bytes that are not an image.
    public static let invalidInput = FailureCode("invalidInput")
    /// The vectors do not have the configured embedding dimension.
    public static let dimensionMismatch = FailureCode("dimensionMismatch")
    /// No vision model is configured.
    public static let visionDisabled = FailureCode("visionDisabled")
    /// No projector (mmproj) was found for the vision model.
    public static let projectorNotFound = FailureCode("projectorNotFound")
    /// The Tesseract engine or the language data it needs is not installed.
    public static let engineUnavailable = FailureCode("engineUnavailable")
    /// Something failed in the worker that has no better code.
    public static let `internal` = FailureCode("internal")

    // MARK: Decided by the host: the worker was lost or could not be used.

    /// The worker exited or was killed while it held a request (after one restart and retry).
    public static let crashed = FailureCode("crashed")
    /// The worker did not answer in time and was killed.
    public static let timedOut = FailureCode("timedOut")
    /// The worker broke the wire protocol (bad frame, wrong message, wrong version) and was killed.
    public static let protocolViolation = FailureCode("protocolViolation")
    /// The worker could not be started at all.
    public static let spawnFailed = FailureCode("spawnFailed")
    /// The worker was stopped while the request was in flight.
    public static let stopped = FailureCode("stopped")
    /// The model itself crashes llama.cpp while loading or at its first decode; remembered per
    /// file, so the next attempt fails at once.
    public static let modelCrashed = FailureCode("modelCrashed")
    /// These texts crash the worker every time; the other texts of the call got their vectors.
    public static let poisonInput = FailureCode("poisonInput")
}
