/// Why a document could not be turned into page images.
public struct DocumentError: Error, CustomStringConvertible, Sendable {
    /// The kinds of failure.
    public enum Code: String, Sendable {
        /// The file does not exist.
        case notFound
        /// The bytes are none of PNG, JPEG, PGM, PPM and PDF.
        case unsupportedType
        /// A PDF that poppler cannot read.
        case unreadable
        /// A helper program (`pdfinfo`, `pdftoppm`) is not installed.
        case toolMissing
        /// A helper program failed on a page.
        case toolFailed
    }

    /// What went wrong.
    public let code: Code
    /// One line for the user.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
