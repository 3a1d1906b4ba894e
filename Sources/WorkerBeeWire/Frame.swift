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
    /// The message body.
    public let payload: [UInt8]

    /// Creates a frame.
    public init(kind: UInt8, requestID: UInt64, payload: [UInt8]) {
        self.kind = kind
        self.requestID = requestID
        self.payload = payload
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

/// Splits a byte stream into frames, however the bytes arrive.
public struct FrameDecoder: Sendable {
    private var buffer: [UInt8] = []
    private var start = 0
    /// The largest `length` accepted.
    public let maximumLength: Int

    /// Creates a decoder.
    /// - Parameter maximumLength: the cap on a frame's length field.
    public init(maximumLength: Int = Frame.defaultMaximumLength) {
        self.maximumLength = maximumLength
    }

    /// Bytes received but not yet part of a returned frame.
    public var bufferedByteCount: Int { buffer.count - start }

    /// Adds bytes from the stream.
    public mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete frame, or nil if more bytes are needed.
    /// - Throws: ``WireError`` `.badLength` for a length outside `headerSize...maximumLength`.
    public mutating func next() throws(WireError) -> Frame? {
        guard buffer.count - start >= 4 else { return nil }
        let length = Int(UInt32(buffer[start]) | UInt32(buffer[start + 1]) << 8 | UInt32(buffer[start + 2]) << 16 | UInt32(buffer[start + 3]) << 24)
        guard length >= Frame.headerSize, length <= maximumLength else {
            throw WireError(.badLength, "frame length \(length) is outside \(Frame.headerSize)...\(maximumLength)")
        }
        guard buffer.count - start >= 4 + length else { return nil }
        let kind = buffer[start + 4]
        var id: UInt64 = 0
        for index in 0..<8 { id |= UInt64(buffer[start + 5 + index]) << (8 * index) }
        let payload = Array(buffer[(start + 4 + Frame.headerSize)..<(start + 4 + length)])
        start += 4 + length
        if start > 65536 && start * 2 > buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
        return Frame(kind: kind, requestID: id, payload: payload)
    }

    /// Call at end of stream: throws if a partial frame is left over.
    /// - Throws: ``WireError`` `.truncated`.
    public func finish() throws(WireError) {
        if bufferedByteCount > 0 {
            throw WireError(.truncated, "the stream ended \(bufferedByteCount) bytes into a frame")
        }
    }
}
