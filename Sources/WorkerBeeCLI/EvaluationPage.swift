import Foundation
import WorkerBeeFixtures

/// One page of the OCR evaluation set: known text laid out in a PDF with one of the standard
/// fonts, in one or two columns, optionally turned by a small angle. The text it carries is the
/// reference an OCR reading is scored against.
struct EvaluationPage {
    /// A standard PDF font (poppler draws it with the matching URW font).
    enum Font: String {
        case helvetica = "Helvetica", times = "Times-Roman", courier = "Courier"
    }

    var font: Font = .helvetica
    /// Font size in points.
    var size: Double = 11
    var columns = 1
    /// Counter-clockwise rotation of the whole page content, in degrees.
    var rotation: Double = 0
    /// Lines per column.
    var lines = 14
    /// Space between columns, in points.
    var gap = 24.0

    /// The width of one column, in points.
    var columnWidth: Double { (Self.width - 2 * Self.margin - gap * Double(columns - 1)) / Double(columns) }

    /// Letter paper in points, with one-inch margins.
    static let width = 612.0, height = 792.0, margin = 72.0

    /// The page's lines, column after column, made from `seed`: what the page says, in reading
    /// order.
    func columnsOfLines(seed: UInt64) -> [[String]] {
        // 0.6 em is Courier's advance and wider than the average Helvetica or Times letter, so
        // lines never run past their column.
        let charactersPerLine = max(10, Int(columnWidth / (size * 0.6)))
        var generator = TinyModels.SeededGenerator(seed: seed)
        return (0..<columns).map { _ in
            (0..<lines).map { _ in Self.line(characters: charactersPerLine, using: &generator) }
        }
    }

    /// The page's content stream, drawing `columnsOfLines`.
    func contentStream(_ columnsOfLines: [[String]]) -> String {
        let leading = size * 1.35
        var stream = ""
        if rotation != 0 {
            let radians = rotation * .pi / 180
            let (cosine, sine) = (cos(radians), sin(radians))
            let (cx, cy) = (Self.width / 2, Self.height / 2)
            // Turn about the page's centre: move it to the origin, rotate, move it back.
            stream += String(format: "1 0 0 1 %.3f %.3f cm %.6f %.6f %.6f %.6f 0 0 cm 1 0 0 1 %.3f %.3f cm\n", cx, cy, cosine, sine, -sine, cosine, -cx, -cy)
        }
        for (index, lines) in columnsOfLines.enumerated() {
            let x = Self.margin + Double(index) * (columnWidth + gap)
            stream += String(format: "BT /F1 %.1f Tf %.2f TL %.2f %.2f Td\n", size, leading, x, Self.height - Self.margin - size)
            for line in lines { stream += "(\(Self.escaped(line))) Tj T*\n" }
            stream += "ET\n"
        }
        return stream
    }

    /// A PDF of `pages` pages like this one; returns the bytes and each page's reference text
    /// (lines joined by single spaces, columns in reading order).
    func document(pages: Int, seed: UInt64) -> (pdf: Data, references: [String]) {
        var objects = ["<< /Type /Catalog /Pages 2 0 R >>"]
        let kids = (0..<pages).map { "\(4 + $0 * 2) 0 R" }.joined(separator: " ")
        objects.append("<< /Type /Pages /Kids [\(kids)] /Count \(pages) >>")
        objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /\(font.rawValue) /Encoding /WinAnsiEncoding >>")
        var references: [String] = []
        for page in 0..<pages {
            let text = columnsOfLines(seed: seed &+ UInt64(page) &* 7919)
            references.append(text.joined().joined(separator: " "))
            let content = contentStream(text)
            objects.append("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 \(Int(Self.width)) \(Int(Self.height))] /Resources << /Font << /F1 3 0 R >> >> /Contents \(5 + page * 2) 0 R >>")
            objects.append("<< /Length \(content.utf8.count) >>\nstream\n\(content)endstream")
        }
        return (GeneratedPDF.assemble(objects.map { Data($0.utf8) }), references)
    }

    private static let words = """
        the of and to in is for on with as by at from that this be are was an or which model worker \
        process text vector page image batch host library language memory system local search index \
        document chunk token context network result value number time first second large small fast \
        simple native code signal request answer file folder disk data table figure report section \
        chapter author reader question method water river mountain city country history science music \
        painting garden kitchen morning evening journey market village teacher student doctor engineer \
        Monday April Paris Berlin London Tokyo Quebec Zurich Oxford Jupiter Amazon Sahara
        """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)

    /// Words, numbers and punctuation up to `characters` long.
    private static func line(characters: Int, using generator: inout TinyModels.SeededGenerator) -> String {
        var line = ""
        while true {
            var word: String
            switch Int.random(in: 0..<20, using: &generator) {
            case 0: word = String(Int.random(in: 1...9999, using: &generator))
            case 1: word = String(format: "%d.%02d", Int.random(in: 1...999, using: &generator), Int.random(in: 0...99, using: &generator))
            case 2: word = words.randomElement(using: &generator)! + [",", ";", ":", "."].randomElement(using: &generator)!
            case 3: word = words.randomElement(using: &generator)!.capitalized
            default: word = words.randomElement(using: &generator)!
            }
            let candidate = line.isEmpty ? word : line + " " + word
            if candidate.count > characters { return line.isEmpty ? String(word.prefix(characters)) : line }
            line = candidate
        }
    }

    private static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "(", with: "\\(").replacingOccurrences(of: ")", with: "\\)")
    }
}
