import Foundation
import WorkerBee
import Synchronization
import WorkerBeeWire
import WorkerBeeImages

/// Turns PDF pages into images, one page at a time, with poppler's `pdfinfo` and `pdftoppm`.
///
/// Pages come out as binary PNM (PGM for gray, PPM for colour): encoding a 300 DPI page as PNG
/// takes pdftoppm longer than drawing it, and both Leptonica and the vision models' image
/// decoder read PNM directly.
struct PDFRasterizer: Sendable {
    let url: URL
    let dpi: Int
    /// Gray pages (a third of the bytes; what OCR engines binarize anyway) instead of colour.
    var grayscale = false
    /// What is read once per document and shared by copies: the layout, and the text layer of a
    /// page until its second use (asked for the text layer first, then checking for a bare scan).
    private let memory = Memory()

    private final class Memory: Sendable {
        let layout = Mutex<Task<PDFLayout, any Error>?>(nil)
        let texts = Mutex<[Int: String]>([:])
    }

    init(url: URL, dpi: Int, grayscale: Bool = false) {
        self.url = url
        self.dpi = dpi
        self.grayscale = grayscale
    }

    /// The number of pages.
    /// - Throws: ``DocumentError`` `.unreadable` for a password-protected or broken PDF.
    func pageCount() async throws -> Int {
        let info: String
        do {
            info = try await Self.run("pdfinfo", [url.path])
        } catch let error as DocumentError where error.code == .toolFailed {
            // pdfinfo refuses a document whose page tree is empty; that is a PDF of 0 pages.
            if error.message.contains("Invalid page count 0") { return 0 }
            if error.message.contains("Incorrect password") {
                throw DocumentError(.unreadable, "\(url.lastPathComponent) is encrypted with a password; remove it first (e.g. qpdf --decrypt --password=... in.pdf out.pdf)")
            }
            throw DocumentError(.unreadable, "\(url.lastPathComponent) is not a readable PDF: \(error.message)")
        }
        for line in info.split(separator: "\n") where line.hasPrefix("Pages:") {
            if let count = Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces)) { return count }
        }
        throw DocumentError(.toolFailed, "pdfinfo did not report a page count for \(url.path)")
    }

    /// Page `page` (1-based) as an image: for a gray rendering of a page that is nothing but one
    /// scanned image at about the asked resolution, that image as stored (see
    /// ``scannedImage(page:)``), else the page drawn by ``render(page:)``.
    func image(page: Int) async throws -> Data {
        if grayscale, let scan = try? await scannedImage(page: page) { return scan }
        memory.texts.withLock { _ = $0.removeValue(forKey: page) }
        return try await render(page: page)
    }

    /// The image of a page that is a bare scan, taken out of the PDF with `pdfimages` instead of
    /// drawing the page: JPEG as stored, other encodings decoded to PNM (colour turned gray). That
    /// skips pdftoppm's drawing, most of the time a scanned page costs. Nil unless the page holds
    /// exactly one image, no text, no rotation, and that image covers the page at the asked
    /// resolution (within 10%), so what comes out is what rendering would give.
    func scannedImage(page: Int) async throws -> Data? {
        guard try await layout().isOneScan(page: page, dpi: dpi) else { return nil }
        var text = memory.texts.withLock { $0.removeValue(forKey: page) }
        if text == nil { text = try await readText(page: page) }
        guard text?.isEmpty == true else { return nil }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-scan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try await Self.run("pdfimages", ["-f", "\(page)", "-l", "\(page)", "-j", url.path, directory.appendingPathComponent("image").path])
        let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
        guard files.count == 1, let file = files.first else { return nil }
        let data = try Data(contentsOf: file)
        return file.pathExtension == "ppm" ? Self.grayPGM(fromPPM: data) : data
    }

    /// A binary PPM (`P6`, 8 bits per sample) as a binary PGM (`P5`) with the usual luma weights;
    /// nil for anything else.
    static func grayPGM(fromPPM ppm: Data) -> Data? {
        guard let header = PNMHeader(ppm), header.isColour, header.maximumValue == 255 else { return nil }
        let pixels = header.width * header.height
        guard pixels > 0, ppm.count - header.pixelOffset >= pixels * 3 else { return nil }
        var out = Data("P5\n\(header.width) \(header.height)\n255\n".utf8)
        let headerCount = out.count
        out.count += pixels
        ppm.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            out.withUnsafeMutableBytes { target in
                let source = bytes.baseAddress!.advanced(by: header.pixelOffset).assumingMemoryBound(to: UInt8.self)
                let gray = target.baseAddress!.advanced(by: headerCount).assumingMemoryBound(to: UInt8.self)
                for index in 0..<pixels {
                    let red = UInt32(source[3 * index]), green = UInt32(source[3 * index + 1]), blue = UInt32(source[3 * index + 2])
                    gray[index] = UInt8((red * 77 + green * 150 + blue * 29) >> 8)
                }
            }
        }
        return out
    }

    /// Page `page` (1-based) drawn by pdftoppm as PGM (gray) or PPM (colour) bytes.
    func render(page: Int) async throws -> Data {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-page-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let prefix = directory.appendingPathComponent("page")
        _ = try await Self.run("pdftoppm", ["-r", "\(dpi)", "-f", "\(page)", "-l", "\(page)"] + (grayscale ? ["-gray"] : []) + ["-singlefile", url.path, prefix.path])
        return try Data(contentsOf: prefix.appendingPathExtension(grayscale ? "pgm" : "ppm"))
    }

    /// The text layer of page `page` (1-based), in reading order, as `pdftotext` gives it.
    func text(page: Int) async throws -> String {
        let text = try await readText(page: page)
        // Kept for the bare-scan check when (nearly) empty: that page is drawn or taken out next.
        if text.count < 16 { memory.texts.withLock { $0[page] = text } }
        return text
    }

    private func readText(page: Int) async throws -> String {
        try await Self.run("pdftotext", ["-f", "\(page)", "-l", "\(page)", "-enc", "UTF-8", url.path, "-"])
            .trimmingCharacters(in: .whitespacesAndNewlines.union(CharacterSet(charactersIn: "\u{0C}")))
    }

    /// The document's layout, read on first use by one `pdfinfo` and one `pdfimages -list`.
    func layout() async throws -> PDFLayout {
        let task = memory.layout.withLock { task in
            if let task { return task }
            let url = url
            let made = Task {
                // pdfinfo stops at the last page.
                async let info = Self.run("pdfinfo", ["-f", "1", "-l", "\(Int32.max)", url.path])
                async let images = Self.run("pdfimages", ["-list", url.path])
                return PDFLayout(pdfinfo: try await info, imageList: try await images)
            }
            task = made
            return made
        }
        return try await task.value
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
