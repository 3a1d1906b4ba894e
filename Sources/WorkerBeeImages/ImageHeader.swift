/// The size of a PNG, JPEG or binary PNM (PGM, PPM) image, read from its header without decoding
/// it, so absurd images are refused before any pixels are allocated.
package struct ImageHeader: Equatable, Sendable {
    package enum Format: String, Sendable { case png = "PNG", jpeg = "JPEG", pnm = "PNM" }

    package let format: Format
    package let width: Int
    package let height: Int

    /// Parses the header of `bytes`; nil when they are none of PNG, JPEG, PGM or PPM (or are cut
    /// short).
    package init?(_ bytes: [UInt8]) {
        if let pnm = PNMHeader(bytes) {
            format = .pnm
            width = pnm.width
            height = pnm.height
            return
        }
        if bytes.count >= 24, bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]), Array(bytes[12..<16]) == Array("IHDR".utf8) {
            format = .png
            width = Self.bigEndian(bytes, 16, 4)
            height = Self.bigEndian(bytes, 20, 4)
            return
        }
        guard bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return nil }
        var offset = 2
        while offset + 9 < bytes.count {
            guard bytes[offset] == 0xFF else { return nil }
            let marker = bytes[offset + 1]
            if marker == 0xD8 || marker == 0x01 || (0xD0...0xD7).contains(marker) {
                offset += 2
                continue
            }
            let length = Self.bigEndian(bytes, offset + 2, 2)
            // Start-of-frame markers (baseline, progressive, ...) carry the size.
            if (0xC0...0xCF).contains(marker) && marker != 0xC4 && marker != 0xC8 && marker != 0xCC {
                format = .jpeg
                height = Self.bigEndian(bytes, offset + 5, 2)
                width = Self.bigEndian(bytes, offset + 7, 2)
                return
            }
            offset += 2 + length
        }
        return nil
    }

    private static func bigEndian(_ bytes: [UInt8], _ offset: Int, _ count: Int) -> Int {
        (0..<count).reduce(0) { $0 << 8 | Int(bytes[offset + $1]) }
    }
}
