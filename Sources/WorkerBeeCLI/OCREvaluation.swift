import Foundation
import WorkerBee
import WorkerBeeWire
import WorkerBeeDocuments
import WorkerBeeImages

/// The OCR evaluation set: pages with known text under the conditions scans come in (fonts,
/// sizes, a slight rotation, noise, JPEG compression, two columns), written as PDFs, rasterized
/// with poppler at a chosen resolution, read through the worker pool and scored by character
/// error rate.
enum OCREvaluation {
    /// One kind of page.
    struct Condition: Sendable {
        let name: String
        let summary: String
        let page: EvaluationPage
        /// Salt-and-pepper noise: the share of pixels set to black or white at random.
        var noise = 0.0
        /// Rasterize as JPEG at this quality instead of lossless gray.
        var jpegQuality: Int?
    }

    static let conditions: [Condition] = [
        Condition(name: "clean", summary: "Helvetica 11 pt", page: EvaluationPage()),
        Condition(name: "times", summary: "Times 11 pt", page: EvaluationPage(font: .times)),
        Condition(name: "courier", summary: "Courier 10 pt", page: EvaluationPage(font: .courier, size: 10)),
        Condition(name: "small", summary: "Helvetica 8 pt", page: EvaluationPage(size: 8)),
        Condition(name: "large", summary: "Helvetica 16 pt", page: EvaluationPage(size: 16, lines: 10)),
        Condition(name: "rotated", summary: "Helvetica 11 pt turned 1.5 degrees", page: EvaluationPage(rotation: 1.5)),
        Condition(name: "noise", summary: "Helvetica 11 pt, 4% of pixels salt and pepper", page: EvaluationPage(), noise: 0.04),
        Condition(name: "jpeg", summary: "Helvetica 11 pt, JPEG quality 20", page: EvaluationPage(), jpegQuality: 20),
        Condition(name: "two-columns", summary: "Helvetica 10 pt in two columns, 0.5 in apart", page: EvaluationPage(size: 10, columns: 2, gap: 36)),
    ]

    /// A scored condition at one resolution.
    struct Score: Sendable {
        let condition: String
        let dpi: Int
        let pages: Int
        let characters: Int
        let errors: Int
        let words: Int
        /// Seconds the engine spent on the pages, summed over pages (one worker's time).
        let seconds: Double
        var characterErrorRate: Double { Double(errors) / Double(max(characters, 1)) }
        var wordsPerSecond: Double { Double(words) / max(seconds, 1e-9) }

        var fields: [String: Any] {
            ["condition": condition, "dpi": dpi, "pages": pages, "characters": characters, "errors": errors,
             "cer": characterErrorRate, "words": words, "seconds": seconds, "wordsPerSecond": wordsPerSecond]
        }
    }

    /// The page images of `condition` at `dpi`, and their reference texts.
    static func pages(_ condition: Condition, dpi: Int, count: Int, in folder: URL) async throws -> [(image: Data, reference: String)] {
        let (pdf, references) = condition.page.document(pages: count, seed: stableSeed(condition.name))
        let file = folder.appendingPathComponent("\(condition.name).pdf")
        try pdf.write(to: file)
        guard let pdftoppm = ExternalProgram.find("pdftoppm") else {
            throw DocumentError(.toolMissing, "pdftoppm is not installed; the evaluation pages are rasterized with poppler-utils (Debian: apt-get install poppler-utils, macOS: brew install poppler)")
        }
        var pages: [(Data, String)] = []
        for (index, reference) in references.enumerated() {
            let prefix = folder.appendingPathComponent("\(condition.name)-\(dpi)-\(index + 1)")
            let format = condition.jpegQuality.map { ["-jpeg", "-jpegopt", "quality=\($0)"] } ?? []
            let output = try await ExternalProgram.run(pdftoppm, arguments: ["-r", "\(dpi)", "-gray", "-f", "\(index + 1)", "-l", "\(index + 1)", "-singlefile"] + format + [file.path, prefix.path])
            guard output.succeeded else {
                throw DocumentError(.toolFailed, "pdftoppm failed on the evaluation page: \(String(decoding: output.stderr, as: UTF8.self))")
            }
            var image = try Data(contentsOf: prefix.appendingPathExtension(condition.jpegQuality == nil ? "pgm" : "jpg"))
            if condition.noise > 0 { addNoise(to: &image, share: condition.noise, seed: UInt64(index + 1)) }
            pages.append((image, reference))
        }
        return pages
    }

    /// Sets `share` of a binary PGM's pixels to black or white at random (reproducibly).
    static func addNoise(to pgm: inout Data, share: Double, seed: UInt64) {
        guard let header = PNMHeader(pgm), !header.isColour else { return }
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        let threshold = UInt64(share * Double(UInt32.max))
        pgm.withUnsafeMutableBytes { bytes in
            for index in header.pixelOffset..<bytes.count {
                // xorshift64*: fast, and the same noise for the same seed.
                state ^= state >> 12
                state ^= state << 25
                state ^= state >> 27
                let random = (state &* 0x2545_F491_4F6C_DD1D) >> 32
                if random < threshold { bytes[index] = random & 1 == 0 ? 0 : 255 }
            }
        }
    }

    /// A seed from a name that is the same in every run (Swift's `hashValue` is seeded per process).
    private static func stableSeed(_ name: String) -> UInt64 {
        name.utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }
}
