import Foundation
import WorkerBee

/// Runs the poppler programs (`pdfinfo`, `pdftoppm`) for the CLI, with a hint to install them.
enum ExternalCommand {
    /// A helper program is missing or failed.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `name` (looked up on PATH) with `arguments`; returns stdout, throws with stderr on failure.
    static func run(_ name: String, _ arguments: [String]) async throws -> String {
        guard let executable = ExternalProgram.find(name) else {
            throw Failure(description: "\(name) is not installed; PDF pages are rasterized with poppler-utils (Debian: apt-get install poppler-utils, macOS: brew install poppler)")
        }
        let output = try await ExternalProgram.run(executable, arguments: arguments)
        guard output.succeeded else {
            let stderr = String(decoding: output.stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw Failure(description: "\(name) failed (\(output.status))\(stderr.isEmpty ? "" : ": " + stderr)")
        }
        return String(decoding: output.stdout, as: UTF8.self)
    }
}
