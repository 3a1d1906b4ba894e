import Foundation
import WorkerBeeWire
import WorkerBeeImages

/// Writes the small PDFs tests and the OCR evaluation need: a line of Helvetica per page, a bare
/// scan, no pages, an encrypted one.
public enum GeneratedPDF {
    /// The PDF's bytes.
    public static func make(pages: [String]) -> Data {
        var objects: [String] = []
        let pageCount = pages.count
        // 1: catalog, 2: pages, 3: font, then a page and its content stream per page.
        objects.append("<< /Type /Catalog /Pages 2 0 R >>")
        let kids = (0..<pageCount).map { "\(4 + $0 * 2) 0 R" }.joined(separator: " ")
        objects.append("<< /Type /Pages /Kids [\(kids)] /Count \(pageCount) >>")
        objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
        for (index, text) in pages.enumerated() {
            let content = "BT /F1 36 Tf 40 200 Td (\(text)) Tj ET"
            objects.append("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 400 300] /Resources << /Font << /F1 3 0 R >> >> /Contents \(5 + index * 2) 0 R >>")
            objects.append("<< /Length \(content.utf8.count) >>\nstream\n\(content)\nendstream")
        }
        return assemble(objects.map { Data($0.utf8) })
    }

    /// A one-page PDF that is nothing but a scan: the gray pixels of `pgm` (a binary PGM as
    /// pdftoppm writes it) as an uncompressed image filling a page sized for `dpi`.
    public static func scan(pgm: Data, dpi: Int) -> Data? {
        guard let header = PNMHeader(pgm), !header.isColour else { return nil }
        let (width, height) = (header.width, header.height)
        let pixels = pgm[(pgm.startIndex + header.pixelOffset)...].prefix(width * height)
        let pageWidth = Double(width) * 72 / Double(dpi), pageHeight = Double(height) * 72 / Double(dpi)
        let content = String(format: "q %.4f 0 0 %.4f 0 0 cm /Im1 Do Q", pageWidth, pageHeight)
        var objects: [Data] = [
            Data("<< /Type /Catalog /Pages 2 0 R >>".utf8),
            Data("<< /Type /Pages /Kids [3 0 R] /Count 1 >>".utf8),
            Data(String(format: "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.4f %.4f] /Resources << /XObject << /Im1 4 0 R >> >> /Contents 5 0 R >>", pageWidth, pageHeight).utf8),
        ]
        objects.append(Data("<< /Type /XObject /Subtype /Image /Width \(width) /Height \(height) /ColorSpace /DeviceGray /BitsPerComponent 8 /Length \(pixels.count) >>\nstream\n".utf8) + pixels + Data("\nendstream".utf8))
        objects.append(Data("<< /Length \(content.utf8.count) >>\nstream\n\(content)\nendstream".utf8))
        return assemble(objects)
    }

    /// A PDF whose page tree has no pages.
    public static func empty() -> Data {
        assemble([Data("<< /Type /Catalog /Pages 2 0 R >>".utf8), Data("<< /Type /Pages /Kids [] /Count 0 >>".utf8)])
    }

    /// A PDF encrypted with a user password nobody knows (the standard security handler, whose
    /// check fails for the empty password readers try first).
    public static func encrypted() -> Data {
        var pdf = String(decoding: make(pages: ["Secret"]), as: UTF8.self)
        let encrypt = "<< /Filter /Standard /V 1 /R 2 /O <\(String(repeating: "11", count: 32))> /U <\(String(repeating: "22", count: 32))> /P -44 >>"
        // Append the encryption dictionary as object 6 in an incremental update.
        let previous = pdf.components(separatedBy: "startxref\n").last!.split(separator: "\n").first!
        let offset = pdf.utf8.count
        pdf += "6 0 obj\n\(encrypt)\nendobj\n"
        let xref = pdf.utf8.count
        pdf += "xref\n6 1\n" + String(format: "%010d 00000 n \n", offset)
        pdf += "trailer\n<< /Size 7 /Root 1 0 R /Prev \(previous) /Encrypt 6 0 R /ID [<\(String(repeating: "33", count: 16))> <\(String(repeating: "33", count: 16))>] >>\nstartxref\n\(xref)\n%%EOF\n"
        return Data(pdf.utf8)
    }

    /// A PDF of `objects`, numbered from 1 (the first must be the catalog), with its
    /// cross-reference table.
    public static func assemble(_ objects: [Data]) -> Data {
        var out = Data("%PDF-1.4\n".utf8)
        var offsets: [Int] = []
        for (index, object) in objects.enumerated() {
            offsets.append(out.count)
            out += Data("\(index + 1) 0 obj\n".utf8) + object + Data("\nendobj\n".utf8)
        }
        let xref = out.count
        var table = "xref\n0 \(objects.count + 1)\n0000000000 65535 f \n"
        for offset in offsets { table += String(format: "%010d 00000 n \n", offset) }
        table += "trailer\n<< /Size \(objects.count + 1) /Root 1 0 R >>\nstartxref\n\(xref)\n%%EOF\n"
        return out + Data(table.utf8)
    }
}
