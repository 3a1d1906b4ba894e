import Foundation

/// Turns PDF pages into PNG images, one page at a time, with poppler.
struct PDFRasterizer {
    let url: URL
    let dpi: Int

    /// The number of pages.
    func pageCount() async throws -> Int {
        let info = try await ExternalCommand.run("pdfinfo", [url.path])
        for line in info.split(separator: "\n") where line.hasPrefix("Pages:") {
            if let count = Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces)) { return count }
        }
        throw ExternalCommand.Failure(description: "pdfinfo did not report a page count for \(url.path)")
    }

    /// Page `page` (1-based) as PNG bytes.
    func render(page: Int) async throws -> Data {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-page-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let prefix = directory.appendingPathComponent("page")
        _ = try await ExternalCommand.run("pdftoppm", ["-r", "\(dpi)", "-f", "\(page)", "-l", "\(page)", "-png", "-singlefile", url.path, prefix.path])
        return try Data(contentsOf: prefix.appendingPathExtension("png"))
    }
}
