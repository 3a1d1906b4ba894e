/// The header of a binary netpbm image, PGM (`P5`, gray) or PPM (`P6`, colour): the magic, then
/// width, height and maximum sample value as decimal numbers separated by white space (`#`
/// comments allowed), then one white-space byte, then the pixels.
public struct PNMHeader: Equatable, Sendable {
    /// Gray (PGM) or colour (PPM).
    public let isColour: Bool
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// The largest sample value (255 for 8-bit samples).
    public let maximumValue: Int
    /// Where the pixels start.
    public let pixelOffset: Int

    /// Samples per pixel: 3 for PPM, 1 for PGM.
    public var channels: Int { isColour ? 3 : 1 }

    /// Parses the header at the start of `bytes`; nil for anything but a complete binary PGM or
    /// PPM header.
    public init?(_ bytes: some RandomAccessCollection<UInt8>) {
        let start = bytes.startIndex
        guard bytes.count >= 8, bytes[start] == UInt8(ascii: "P"),
              bytes[bytes.index(after: start)] == UInt8(ascii: "5") || bytes[bytes.index(after: start)] == UInt8(ascii: "6") else { return nil }
        isColour = bytes[bytes.index(after: start)] == UInt8(ascii: "6")
        var offset = 2, numbers: [Int] = []
        let limit = min(bytes.count, 4096)
        func byte(_ at: Int) -> UInt8 { bytes[bytes.index(start, offsetBy: at)] }
        let digits = UInt8(ascii: "0")...UInt8(ascii: "9")
        while numbers.count < 3 && offset < limit {
            let current = byte(offset)
            if current == UInt8(ascii: "#") {
                while offset < limit && byte(offset) != 0x0A { offset += 1 }
            } else if digits.contains(current) {
                var value = 0
                while offset < limit, digits.contains(byte(offset)), value < 1 << 40 {
                    value = value * 10 + Int(byte(offset) - UInt8(ascii: "0"))
                    offset += 1
                }
                numbers.append(value)
                continue
            } else if ![0x20, 0x09, 0x0A, 0x0D].contains(current) {
                return nil
            }
            offset += 1
        }
        guard numbers.count == 3, offset < limit else { return nil }
        (width, height, maximumValue) = (numbers[0], numbers[1], numbers[2])
        pixelOffset = offset + 1
    }
}
