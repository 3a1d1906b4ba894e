import ArgumentParser
import Foundation
import WorkerBee
import WorkerBeeWire

/// The pages of one input file: an image is one page, a PDF one page per PDF page.
struct PageSource: Sendable {
    let count: Int
    private let load: @Sendable (Int) async throws -> Data

    func image(_ page: Int) async throws -> Data { try await load(page) }

    static func open(_ url: URL, dpi: Int) async throws -> PageSource {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ExternalCommand.Failure(description: "\(url.path) does not exist")
        }
        let head = (try? FileHandle(forReadingFrom: url).read(upToCount: 8)) ?? Data()
        if head.starts(with: Array("%PDF".utf8)) || url.pathExtension.lowercased() == "pdf" {
            let pdf = PDFRasterizer(url: url, dpi: dpi)
            let count: Int
            do {
                count = try await pdf.pageCount()
            } catch {
                throw ExternalCommand.Failure(description: "\(url.lastPathComponent) is not a readable PDF: \(error)")
            }
            return PageSource(count: count) { try await pdf.render(page: $0) }
        }
        return PageSource(count: 1) { _ in try Data(contentsOf: url) }
    }
}
