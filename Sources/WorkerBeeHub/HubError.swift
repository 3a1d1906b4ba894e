/// Why a pull from the Hugging Face Hub failed.
package struct HubError: Error, CustomStringConvertible {
    /// The kinds of failure.
    package enum Code: String {
        /// 401 or 403: a gated or private repository, or a refused token.
        case unauthorized
        /// 404: no such repository, revision or file.
        case notFound
        /// The Hub answered something unexpected.
        case server
        /// The download stopped before the end; pulling again continues it.
        case interrupted
        /// The bytes do not have the SHA-256 the Hub announced.
        case checksumMismatch
        /// `HF_HUB_OFFLINE` is set and the file is not in the cache.
        case offline
        /// The reference does not pick one file (none or several match).
        case ambiguous
    }

    package let code: Code
    /// One line for the user.
    package let message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { message }
}
