import Foundation

/// Turns PDF pages into PNG images, one page at a time, with poppler's `pdfinfo` and `pdftoppm`.
struct PDFRasterizer: Sendable {
    let url: URL
    let dpi: Int

    /// The number of pages.
    func pageCount() async throws -> Int {
        let info = try await Self.run("pdfinfo", [url.path])
        for line in info.split(separator: "\n") where line.hasPrefix("Pages:") {
            if let count = Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces)) { return count }
        }
        throw DocumentError(.toolFailed, "pdfinfo did not report a page count for \(url.path)")
    }

    /// Page `page` (1-based) as PNG bytes.
    func render(page: Int) async throws -> Data {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-page-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let prefix = directory.appendingPathComponent("page")
        _ = try await Self.run("pdftoppm", ["-r", "\(dpi)", "-f", "\(page)", "-l", "\(page)", "-png", "-singlefile", url.path, prefix.path])
        return try Data(contentsOf: prefix.appendingPathExtension("png"))
    }

    /// The text layer of page `page` (1-based), in reading order, as `pdftotext` gives it.
    func text(page: Int) async throws -> String {
        try await Self.run("pdftotext", ["-f", "\(page)", "-l", "\(page)", "-enc", "UTF-8", url.path, "-"])
            .trimmingCharacters(in: .whitespacesAndNewlines.union(CharacterSet(charactersIn: "\u{0C}")))
    }

    /// Runs a poppler program found on PATH; returns its stdout.
    /// - Throws: ``DocumentError`` `.toolMissing` with the install hint, or `.toolFailed` with its stderr.
    private static func run(_ name: String, _ arguments: [String]) async throws -> String {
        guard let executable = ExternalProgram.find(name) else {
            throw DocumentError(.toolMissing, "\(name) is not installed; PDF pages are rasterized with poppler-utils (Debian: apt-get install poppler-utils, macOS: brew install poppler)")
        }
        let output = try await ExternalProgram.run(executable, arguments: arguments)
        guard output.succeeded else {
            let stderr = String(decoding: output.stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw DocumentError(.toolFailed, "\(name) failed (\(output.status))\(stderr.isEmpty ? "" : ": " + stderr)")
        }
        return String(decoding: output.stdout, as: UTF8.self)
    }
}
