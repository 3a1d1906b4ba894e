import Foundation

/// The pages of one document as images an OCR engine can read: a PNG, JPEG or PNM is one page, a PDF
/// one page per PDF page, rasterized on demand with poppler (`pdfinfo`, `pdftoppm`) as PNM, so
/// memory stays flat however long the file is.
public struct DocumentPages: Sendable {
    /// What a document is, from its first bytes.
    public enum Kind: String, Sendable {
        case png, jpeg, pdf
        /// Binary PGM or PPM (netpbm), what scanners' command-line tools and poppler write.
        case pnm

        /// Recognises PNG, JPEG, binary PGM/PPM and PDF by their magic bytes; nil for anything else.
        public init?(sniffing head: some Collection<UInt8>) {
            let bytes = Array(head.prefix(8))
            if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) {
                self = .png
            } else if bytes.starts(with: [0xFF, 0xD8, 0xFF]) {
                self = .jpeg
            } else if bytes.starts(with: Array("%PDF".utf8)) {
                self = .pdf
            } else if bytes.count >= 3, bytes[0] == UInt8(ascii: "P"), bytes[1] == UInt8(ascii: "5") || bytes[1] == UInt8(ascii: "6"),
                      [0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: "#")].contains(bytes[2]) {
                self = .pnm
            } else {
                return nil
            }
        }
    }

    /// How many pages there are.
    public let count: Int
    /// What the document is.
    public let kind: Kind
    private let load: @Sendable (Int) async throws -> Data
    private let textLayer: @Sendable (Int) async throws -> String?

    /// The text a PDF page carries (poppler's `pdftotext`), or nil when it has none worth using
    /// (fewer than 3 letters or digits: a scan, or an image), or when the document is an image.
    public func text(_ page: Int) async throws -> String? {
        guard let text = try await textLayer(page) else { return nil }
        return text.unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) }.count >= 3 ? text : nil
    }

    private init(count: Int, kind: Kind, load: @escaping @Sendable (Int) async throws -> Data, textLayer: @escaping @Sendable (Int) async throws -> String? = { _ in nil }) {
        self.count = count
        self.kind = kind
        self.load = load
        self.textLayer = textLayer
    }

    /// What a page offers to read: its text layer, or an image to OCR.
    public enum Content: Sendable {
        case text(String)
        case image(Data)
    }

    /// Page `page` (1-based) as its text layer when it has one and `preferTextLayer`, else as an
    /// image; the page is only rasterized when its text layer is not used.
    public func content(_ page: Int, preferTextLayer: Bool = true) async throws -> Content {
        if preferTextLayer, let text = try await text(page) { return .text(text) }
        return .image(try await image(page))
    }

    /// Page `page` (1-based) as image bytes: the file itself for an image, PNM for a PDF page.
    /// - Throws: ``DocumentError`` when a PDF page cannot be rasterized.
    public func image(_ page: Int) async throws -> Data { try await load(page) }

    /// The pages of the file at `url`, PDF pages rasterized at `dpi`, in gray when `grayscale`
    /// (enough for OCR engines, which binarize the page, and a third of the bytes).
    /// - Throws: ``DocumentError``.
    public static func open(_ url: URL, dpi: Int = 150, grayscale: Bool = false) async throws -> DocumentPages {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw DocumentError(.notFound, "\(url.path) does not exist")
        }
        let head = (try? FileHandle(forReadingFrom: url).read(upToCount: 8)) ?? Data()
        let kind = Kind(sniffing: head) ?? (url.pathExtension.lowercased() == "pdf" ? .pdf : nil)
        switch kind {
        case .pdf:
            let pdf = PDFRasterizer(url: url, dpi: dpi, grayscale: grayscale)
            let count = try await pdf.pageCount()
            return DocumentPages(count: count, kind: .pdf, load: { try await pdf.image(page: $0) }, textLayer: { try await pdf.text(page: $0) })
        case .png, .jpeg, .pnm:
            return DocumentPages(count: 1, kind: kind!, load: { _ in try Data(contentsOf: url) })
        case nil:
            // Not recognised: let the vision model's image decoder have the last word.
            return DocumentPages(count: 1, kind: .png, load: { _ in try Data(contentsOf: url) })
        }
    }

    /// The pages of a document held in memory. A PDF is written to `scratch` (a folder this call
    /// creates and the returned value's owner removes with ``discard(scratch:)``), since poppler
    /// reads files.
    /// - Throws: ``DocumentError`` `.unsupportedType` for anything but PNG, JPEG, PGM, PPM and PDF.
    public static func open(_ data: Data, dpi: Int = 150, grayscale: Bool = false, scratch: URL) async throws -> DocumentPages {
        guard let kind = Kind(sniffing: data) else {
            throw DocumentError(.unsupportedType, "the document is not a PNG, JPEG, PGM, PPM or PDF (its first bytes are \(data.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")))")
        }
        guard kind == .pdf else { return DocumentPages(count: 1, kind: kind, load: { _ in data }) }
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let file = scratch.appendingPathComponent("document.pdf")
        try data.write(to: file)
        return try await open(file, dpi: dpi, grayscale: grayscale)
    }

    /// Removes a folder given to ``open(_:dpi:scratch:)``.
    public static func discard(scratch: URL) {
        try? FileManager.default.removeItem(at: scratch)
    }
}
