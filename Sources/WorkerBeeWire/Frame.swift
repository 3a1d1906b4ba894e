import BinaryCoding

/// One unit on the wire: `u32 length | u8 kind | u64 request id | payload`, little-endian.
///
/// `length` counts the bytes after itself (kind, id and payload), so a frame is never shorter
/// than ``Frame/headerSize`` and never longer than the reader's cap.
public struct Frame: Sendable, Equatable {
    /// Bytes after the length field that every frame has: the kind and the request id.
    public static let headerSize = 9
    /// The default cap on `length`: 256 MiB, enough for a large page image.
    public static let defaultMaximumLength = 256 << 20

    /// The message type.
    public let kind: UInt8
    /// The request this frame belongs to (0 for the hello).
    public let requestID: UInt64
    /// The message body. A frame the decoder returns shares storage with the bytes it read, so
    /// receiving a large answer copies it once, from the pipe into the decoder.
    public let payload: ArraySlice<UInt8>

    /// Creates a frame.
    public init(kind: UInt8, requestID: UInt64, payload: [UInt8]) {
        self.init(kind: kind, requestID: requestID, payload: payload[...])
    }

    /// Creates a frame over a slice of a larger buffer.
    public init(kind: UInt8, requestID: UInt64, payload: ArraySlice<UInt8>) {
        self.kind = kind
        self.requestID = requestID
        self.payload = payload
    }

    public static func == (a: Frame, b: Frame) -> Bool {
        a.kind == b.kind && a.requestID == b.requestID && a.payload.elementsEqual(b.payload)
    }

    /// The frame as bytes, ready to write.
    public func encoded() -> [UInt8] {
        var out = ByteWriter(capacity: 4 + Self.headerSize + payload.count)
        out.append(UInt32(Self.headerSize + payload.count))
        out.append(kind)
        out.append(requestID)
        out.append(contentsOf: payload)
        return out.bytes
    }
}
