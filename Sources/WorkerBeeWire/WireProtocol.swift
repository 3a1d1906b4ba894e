
/// Constants of the host-worker protocol.
public enum WireProtocol {
    /// The version both sides must speak; the host refuses a worker whose hello differs.
    public static let version: UInt32 = 5
}
