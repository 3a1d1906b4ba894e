/// Why `workerbee embed --server` could not get a piece's vectors.
struct EmbeddingServerError: Error, CustomStringConvertible {
    enum Code: Sendable {
        /// A server answered 500: a text crashed its worker every time.
        case textFailed
        /// A server refused the request in a way no other server would change (401, 400, 404, 413).
        case refused
        /// No server answered for the `--give-up-after` time.
        case unreachable
        /// A server answered 200 with something that is not the vectors asked for.
        case malformedAnswer
    }

    let code: Code
    let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    var description: String { message }
}
