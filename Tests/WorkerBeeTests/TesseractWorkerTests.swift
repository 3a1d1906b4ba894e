import Foundation
import Testing
import WorkerBeeTestSupport
import WorkerBeeWire

@testable import WorkerBee

/// Tesseract in the real worker, on pages the test makes: a PDF written with known text and
/// rasterized by poppler, as a scan would be.
@Suite(.serialized, .timeLimit(.minutes(5))) struct TesseractWorkerTests {
    // One line that fits the test page (400 x 300 pt, 36 pt Helvetica).
    static let sentence = "Quick fox 2024"

    /// A clean page with `text`, rasterized at `dpi`.
    static func page(_ text: String, dpi: Int) async throws -> Data {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-tess-\(UUID().uuidString)")
        defer { DocumentPages.discard(scratch: scratch) }
        let pages = try await DocumentPages.open(TestPDF.make(pages: [text]), dpi: dpi, scratch: scratch)
        return try await pages.image(1)
    }

    /// Character error rate: edit distance over the reference's length, whitespace collapsed.
    static func characterErrorRate(_ read: String, _ reference: String) -> Double {
        let a = Array(read.split(whereSeparator: \.isWhitespace).joined(separator: " "))
        let b = Array(reference.split(whereSeparator: \.isWhitespace).joined(separator: " "))
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in 1...b.count {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return Double(a.isEmpty ? b.count : row[b.count]) / Double(b.count)
    }

    @Test func aCleanPageAt300DPIIsReadWithAtMostOnePercentCharacterErrors() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration())
        defer { Task { await worker.stop() } }
        let result = try await worker.recognizeText(image: try await Self.page(Self.sentence, dpi: 300))
        let rate = Self.characterErrorRate(result.text, Self.sentence)
        #expect(rate <= 0.01, "read \(result.text.debugDescription), CER \(rate)")
        #expect(result.confidence > 50)
        #expect(sandbox.log.contains("started: recognize"))
    }

    @Test func aLanguageWithoutDataIsRefusedListingTheInstalledOnes() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration())
        defer { Task { await worker.stop() } }
        await #expect {
            _ = try await worker.recognizeText(image: try await Self.page("x", dpi: 72), language: "qqq")
        } throws: { error in
            let error = try #require(error as? WorkerError)
            return error.code == .engineUnavailable && error.message.contains("qqq") && error.message.contains("eng")
        }
        // The worker is still up and reads the next page.
        _ = try await worker.recognizeText(image: try await Self.page("next", dpi: 150))
        #expect(await worker.spawnCount == 1)
    }

    @Test func anImageLeptonicaCannotDecodeIsInvalidInputAndTheWorkerStays() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        let worker = WorkerProcess(configuration: sandbox.configuration())
        defer { Task { await worker.stop() } }
        await #expect {
            _ = try await worker.recognizeText(image: Data("not an image at all".utf8))
        } throws: { error in
            (error as? WorkerError)?.code == .invalidInput
        }
        #expect(await worker.spawnCount == 1)
    }

    @Test func withoutTesseractTheErrorSaysWhatToInstall() async throws {
        let sandbox = try WorkerSandbox()
        defer { sandbox.remove() }
        var configuration = sandbox.configuration()
        configuration.launch.environment["WORKERBEE_TESSERACT_LIBRARY"] = "/nonexistent/libtesseract.so.5"
        let worker = WorkerProcess(configuration: configuration)
        defer { Task { await worker.stop() } }
        await #expect {
            _ = try await worker.recognizeText(image: try await Self.page("x", dpi: 72))
        } throws: { error in
            let error = try #require(error as? WorkerError)
            return error.code == .engineUnavailable && error.message.contains("apt-get install tesseract-ocr")
        }
    }
}
