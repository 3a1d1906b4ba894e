import Testing
import WorkerBeeFixtures
import WorkerBeeImages

@Suite struct ImageHeaderTests {
    @Test func pngSizeComesFromItsHeader() {
        let header = ImageHeader(Array(TinyImages.png(width: 33, height: 7) { _, _ in (0, 0, 0) }))
        #expect(header?.format == .png && header?.width == 33 && header?.height == 7)
    }

    @Test func jpegSizeComesFromItsStartOfFrameAfterOtherSegments() {
        // SOI, an APP0 segment of 16 bytes, then SOF2 (progressive): precision, height 480, width 640.
        let app0: [UInt8] = [0xFF, 0xE0, 0x00, 0x10] + Array("JFIF".utf8) + [0, 1, 1, 0, 0, 1, 0, 1, 0, 0]
        let sof2: [UInt8] = [0xFF, 0xC2, 0x00, 0x11, 0x08, 0x01, 0xE0, 0x02, 0x80, 0x03, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1]
        let header = ImageHeader([0xFF, 0xD8] + app0 + sof2 + [0xFF, 0xD9])
        #expect(header?.format == .jpeg && header?.width == 640 && header?.height == 480)
    }

    @Test func jpegWithoutAFrameHeaderIsNotAnImage() {
        #expect(ImageHeader([0xFF, 0xD8, 0xFF, 0xC4, 0x00, 0x04, 0, 0, 0xFF, 0xD9]) == nil)
    }

    @Test(arguments: [[UInt8](), Array("GIF89a".utf8), Array("%PDF-1.7 something".utf8), [0x89, 0x50, 0x4E, 0x47]])
    func otherBytesAreNotImages(bytes: [UInt8]) {
        #expect(ImageHeader(bytes) == nil)
    }
}
