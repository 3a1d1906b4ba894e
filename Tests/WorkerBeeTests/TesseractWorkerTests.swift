import Foundation
import Testing
import WorkerBeeTestSupport
import WorkerBeeWire

@testable import WorkerBee
import WorkerBeeFixtures
@testable import WorkerBeeDocuments

/// Tesseract in the real worker, on pages the test makes: a PDF written with known text and
/// rasterized by poppler, as a scan would be.
@Suite(.serialized, .timeLimit(.minutes(5))) struct TesseractWorkerTests {
    // One line that fits the test page (400 x 300 pt, 36 pt Helvetica).
    static let sentence = "Quick fox 2024"

    /// A clean page with `text`, rasterized at `dpi`.
    static func page(_ text: String, dpi: Int) async throws -> Data {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-tess-\(UUID().uuidString)")
        defer { DocumentPages.discard(scratch: scratch) }
        let pages = try await DocumentPages.open(GeneratedPDF.make(pages: [text]), dpi: dpi, scratch: scratch)
        return try await pages.image(1)
    }

    @Test func aCleanPageAt300DPIIsReadWithAtMostOnePercentCharacterErrors() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration())
        try await withCleanup({ await worker.stop() }) {
            let result = try await worker.readText(in: try await Self.page(Self.sentence, dpi: 300), engine: .tesseract())
            let rate = TextComparison.characterErrorRate(result.text, reference: Self.sentence)
            #expect(rate <= 0.01, "read \(result.text.debugDescription), CER \(rate)")
            #expect((result.confidence ?? 0) > 50)
            #expect(sandbox.log.contains("started: recognize"))
        }
    }

    @Test func aLanguageWithoutDataIsRefusedListingTheInstalledOnes() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration())
        return try await withCleanup({ await worker.stop() }) {
            await #expect {
                _ = try await worker.readText(in: try await Self.page("x", dpi: 72), engine: .tesseract(language: "qqq"))
            } throws: { error in
                let error = try #require(error as? WorkerError)
                return error.code == .engineUnavailable && error.message.contains("qqq") && error.message.contains("eng")
            }
            // The worker is still up and reads the next page.
            _ = try await worker.readText(in: try await Self.page("next", dpi: 150), engine: .tesseract())
            #expect(await worker.spawnCount == 1)
        }
    }

    @Test func anImageLeptonicaCannotDecodeIsInvalidInputAndTheWorkerStays() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration())
        try await withCleanup({ await worker.stop() }) {
            await #expect {
                _ = try await worker.readText(in: Data("not an image at all".utf8), engine: .tesseract())
            } throws: { error in
                (error as? WorkerError)?.code == .invalidInput
            }
            #expect(await worker.spawnCount == 1)
        }
    }

    @Test func withoutTesseractTheErrorSaysWhatToInstall() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        var configuration = sandbox.configuration()
        configuration.launch.environment["WORKERBEE_TESSERACT_LIBRARY"] = "/nonexistent/libtesseract.so.5"
        let worker = WorkerProcess(configuration: configuration)
        return try await withCleanup({ await worker.stop() }) {
            await #expect {
                _ = try await worker.readText(in: try await Self.page("x", dpi: 72), engine: .tesseract())
            } throws: { error in
                let error = try #require(error as? WorkerError)
                return error.code == .engineUnavailable && error.message.contains("apt-get install tesseract-ocr")
            }
        }
    }

    @Test func anImageOverThePixelLimitIsRefusedFromItsHeaderBeforeDecoding() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration())
        return try await withCleanup({ await worker.stop() }) {
            // The header claims 20,000 x 20,000 pixels; the pixels are not there, so a decoder would
            // say it cannot decode it rather than name the size.
            await #expect {
                _ = try await worker.readText(in: TinyImages.pngHeaderOnly(width: 20_000, height: 20_000), engine: .tesseract())
            } throws: { error in
                let error = try #require(error as? WorkerError)
                return error.code == .invalidInput && error.message.contains("20000 x 20000") && error.message.contains("megapixels")
            }
            #expect(await worker.spawnCount == 1)
        }
    }

    @Test func aPageThatIsOneScannedImageIsTakenOutOfThePDFAsStored() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-scan-\(UUID().uuidString)")
        defer { DocumentPages.discard(scratch: scratch) }
        let pgm = try await DocumentPages.open(GeneratedPDF.make(pages: [Self.sentence]), dpi: 300, grayscale: true, scratch: scratch.appendingPathComponent("text")).image(1)
        let file = scratch.appendingPathComponent("scan.pdf")
        try #require(GeneratedPDF.scan(pgm: pgm, dpi: 300)).write(to: file)
        let taken = try #require(try await PDFRasterizer(url: file, dpi: 300, grayscale: true).scannedImage(page: 1))
        #expect(taken.starts(with: Data("P5".utf8)))
        #expect(taken.suffix(400 * 300 * 300 / 72 * 300 / 72).elementsEqual(pgm.suffix(400 * 300 * 300 / 72 * 300 / 72)))
        // At another resolution the page is drawn instead, as asked.
        #expect(try await PDFRasterizer(url: file, dpi: 150, grayscale: true).scannedImage(page: 1) == nil)
    }

    @Test func theLayoutTellsBareScansFromPagesWithMoreOnThem() {
        // poppler's output format (page 1's lines as it printed them for a real scan) for a
        // three-page document: page 1 one 300 ppi scan covering the letter page, page 2 a scan
        // with a soft mask, page 3 a scan turned 90 degrees.
        let info = """
            Page    1 size:  612 x 792 pts (letter)
            Page    1 rot:   0
            Page    2 size:  612 x 792 pts (letter)
            Page    2 rot:   0
            Page    3 size:  612 x 792 pts (letter)
            Page    3 rot:   90
            """
        let images = """
            page   num  type   width height color comp bpc  enc interp  object ID x-ppi y-ppi size ratio
            --------------------------------------------------------------------------------------------
               1     0 image    2550  3300  rgb     3   8  image  no        64  0   300   300 41.5K 0.2%
               2     1 image    2550  3300  rgb     3   8  image  no         2  0   300   300 42.1K 0.2%
               2     2 smask    2550  3300  gray    1   8  image  no         3  0   300   300 1.2K 0.0%
               3     3 image    2550  3300  gray    1   8  jpeg   no         5  0   300   300 99K 1.2%
            """
        let layout = PDFLayout(pdfinfo: info, imageList: images)
        #expect(layout.isOneScan(page: 1, dpi: 300))
        #expect(!layout.isOneScan(page: 1, dpi: 150), "drawn at the asked resolution instead")
        #expect(!layout.isOneScan(page: 2, dpi: 300), "an image and its mask")
        #expect(!layout.isOneScan(page: 3, dpi: 300), "rotated")
        #expect(!layout.isOneScan(page: 4, dpi: 300), "no such page")
    }

    @Test func aColourPixmapTurnsGrayWithLumaWeights() throws {
        let ppm = Data("P6\n3 1\n255\n".utf8) + Data([255, 0, 0, 0, 255, 0, 255, 255, 255])
        let pgm = try #require(PDFRasterizer.grayPGM(fromPPM: ppm))
        #expect(pgm == Data("P5\n3 1\n255\n".utf8) + Data([76, 149, 255]))
        #expect(PDFRasterizer.grayPGM(fromPPM: Data("P5\n1 1\n255\n\0".utf8)) == nil)
    }
}
