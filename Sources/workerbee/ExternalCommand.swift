import Foundation

/// Runs an external program (pdfinfo, pdftoppm) and waits for it without blocking a thread.
enum ExternalCommand {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `name` (looked up on PATH) with `arguments`; returns stdout, throws with stderr on failure.
    static func run(_ name: String, _ arguments: [String]) async throws -> String {
        guard let executable = find(name) else {
            throw Failure(description: "\(name) is not installed; PDF pages are rasterized with poppler-utils (Debian: apt-get install poppler-utils, macOS: brew install poppler)")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-cmd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("out"), err = directory.appendingPathComponent("err")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        let stdout = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        guard status == 0 else {
            let stderr = ((try? String(contentsOf: err, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            throw Failure(description: "\(name) failed (exit \(status))\(stderr.isEmpty ? "" : ": " + stderr)")
        }
        return stdout
    }

    static func find(_ name: String) -> URL? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let url = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }
}
