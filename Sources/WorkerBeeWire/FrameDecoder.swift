import BinaryCoding

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
        prepareForAppend(bytes.count)
        buffer.append(contentsOf: bytes)
    }

    /// Adds bytes from the stream, straight from memory the caller owns (e.g. a `DispatchData` region).
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        prepareForAppend(bytes.count)
        buffer.append(contentsOf: bytes)
    }

    private mutating func prepareForAppend(_ count: Int) {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        // When the next frame's length is known, reserve it once instead of growing step by step.
        if buffer.count - start >= 4 {
            let length = Int(UInt32(buffer[start]) | UInt32(buffer[start + 1]) << 8 | UInt32(buffer[start + 2]) << 16 | UInt32(buffer[start + 3]) << 24)
            let needed = start + 4 + length
            if length <= maximumLength && needed > buffer.capacity { buffer.reserveCapacity(needed) }
        }
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
        let range = (start + 4 + Frame.headerSize)..<(start + 4 + length)
        let payload: ArraySlice<UInt8>
        if start == 0 && buffer.count == 4 + length {
            // The buffer holds exactly this frame (the usual case for a large answer): hand the
            // storage over instead of copying it.
            payload = buffer[range]
            buffer = []
            start = 0
            return Frame(kind: kind, requestID: id, payload: payload)
        }
        payload = ArraySlice(buffer[range])
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
