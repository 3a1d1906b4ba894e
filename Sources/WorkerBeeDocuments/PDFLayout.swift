import Foundation

/// What poppler says about a whole PDF, read once per document: each page's size and rotation
/// (`pdfinfo -f 1 -l N`) and the images placed on each page (`pdfimages -list`). The per-page
/// question "is this page one bare scan?" is answered from it instead of running both tools for
/// every page (about 30 ms a page).
struct PDFLayout: Sendable {
    /// A page's media box in points and its rotation in degrees.
    struct Page: Sendable {
        var width = 0.0
        var height = 0.0
        var rotation = -1
    }

    /// One row of `pdfimages -list`.
    struct Image: Sendable {
        /// `image`, `mask`, `smask` or `stencil`.
        let type: String
        let width: Double
        let height: Double
        let xPPI: Double
        let yPPI: Double
    }

    var pages: [Int: Page] = [:]
    var images: [Int: [Image]] = [:]

    /// Parses `pdfinfo -f 1 -l N` (lines `Page    1 size: 612 x 792 pts (letter)` and
    /// `Page    1 rot:  0`) and `pdfimages -list` (two header lines, then `page num type width
    /// height color comp bpc enc interp object ID x-ppi y-ppi size ratio`).
    init(pdfinfo: String, imageList: String) {
        for line in pdfinfo.split(separator: "\n") where line.hasPrefix("Page ") {
            let words = line.split(separator: " ")
            guard words.count >= 3, let page = Int(words[1]) else { continue }
            if words[2] == "size:", words.count >= 6 {
                pages[page, default: Page()].width = Double(words[3]) ?? 0
                pages[page, default: Page()].height = Double(words[5]) ?? 0
            } else if words[2] == "rot:", let last = words.last {
                pages[page, default: Page()].rotation = Int(last) ?? -1
            }
        }
        for row in imageList.split(separator: "\n").dropFirst(2) {
            let columns = row.split(separator: " ")
            guard columns.count >= 14, let page = Int(columns[0]) else { continue }
            images[page, default: []].append(Image(
                type: String(columns[2]), width: Double(columns[3]) ?? 0, height: Double(columns[4]) ?? 0,
                xPPI: Double(columns[12]) ?? 0, yPPI: Double(columns[13]) ?? 0))
        }
    }

    /// Whether page `page` is nothing but one image covering it at about `dpi` (within 10%),
    /// unrotated: then the stored image is what drawing the page would give.
    func isOneScan(page: Int, dpi: Int) -> Bool {
        guard let rows = images[page], rows.count == 1, rows[0].type == "image", let box = pages[page], box.rotation == 0 else { return false }
        let image = rows[0]
        let close = { (value: Double, target: Double) in abs(value - target) <= 0.1 * target }
        return close(image.xPPI, Double(dpi)) && close(image.yPPI, Double(dpi))
            && close(image.width, box.width * image.xPPI / 72) && close(image.height, box.height * image.yPPI / 72)
    }
}
