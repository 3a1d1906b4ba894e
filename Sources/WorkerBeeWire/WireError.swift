/// A violation of the wire protocol: the peer sent bytes that cannot be a valid frame or message.
///
/// The host treats any of these like a crash of the worker: the stream cannot be trusted after it.
public struct WireError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What kind of violation this is. New codes may be added; switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }
        /// A frame announces a length above the cap or below the fixed header.
        public static let badLength = Code(name: "badLength")
        /// A frame's type byte names no known message.
        public static let unknownMessage = Code(name: "unknownMessage")
        /// A message's payload is shorter or longer than its fields say.
        public static let malformed = Code(name: "malformed")
        /// The stream ended in the middle of a frame.
        public static let truncated = Code(name: "truncated")
        /// The peer speaks another protocol version.
        public static let versionMismatch = Code(name: "versionMismatch")
    }

    /// What kind of violation this is.
    public let code: Code
    /// A sentence for a person.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "protocol error (\(code)): \(message)" }
}
