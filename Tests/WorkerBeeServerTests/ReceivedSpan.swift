import Foundation

/// A span as an OTLP exporter sent it: the fields the tests read, decoded from the protobuf of an
/// `ExportTraceServiceRequest` (opentelemetry-proto's `collector/trace/v1` and `trace/v1`).
/// swift-otel's generated types are not public, so this reads the wire format itself.
struct ReceivedSpan: Sendable {
    /// `SpanKind` values.
    static let internalKind = 1, serverKind = 2, clientKind = 3

    /// Ids in lowercase hex, as in a `traceparent` header; `parentSpanID` is "" for a root span.
    var traceID = "", spanID = "", parentSpanID = ""
    var name = ""
    var kind = 0
    /// Attribute values as text (`2`, `true`, `embed`).
    var attributes: [String: String] = [:]
    /// The spans this one links to: (trace id, span id).
    var links: [(traceID: String, spanID: String)] = []
    var events: [String] = []
    /// `Status.code`: 0 unset, 1 ok, 2 error.
    var statusCode = 0

    /// Every span in an `ExportTraceServiceRequest`.
    static func spans(inExportRequest bytes: [UInt8]) throws -> [ReceivedSpan] {
        var spans: [ReceivedSpan] = []
        try ProtobufReader(bytes[...]).forEachMessage(field: 1) { resourceSpans in  // resource_spans
            try resourceSpans.forEachMessage(field: 2) { scopeSpans in  // scope_spans
                try scopeSpans.forEachMessage(field: 2) { spans.append(try ReceivedSpan($0)) }  // spans
            }
        }
        return spans
    }

    private init(_ message: ProtobufReader) throws {
        var reader = message
        while let (field, value) = try reader.next() {
            switch (field, value) {
            case (1, .bytes(let bytes)): traceID = Self.hex(bytes)
            case (2, .bytes(let bytes)): spanID = Self.hex(bytes)
            case (4, .bytes(let bytes)): parentSpanID = Self.hex(bytes)
            case (5, .bytes(let bytes)): name = String(decoding: bytes, as: UTF8.self)
            case (6, .varint(let value)): kind = Int(value)
            case (9, .bytes(let bytes)):
                let (key, value) = try Self.keyValue(ProtobufReader(bytes))
                attributes[key] = value
            case (11, .bytes(let bytes)):  // Event: name = 2
                var event = ProtobufReader(bytes)
                while let (field, value) = try event.next() {
                    if field == 2, case .bytes(let name) = value { events.append(String(decoding: name, as: UTF8.self)) }
                }
            case (13, .bytes(let bytes)):  // Link: trace_id = 1, span_id = 2
                var link = ProtobufReader(bytes)
                var ids = ("", "")
                while let (field, value) = try link.next() {
                    guard case .bytes(let id) = value else { continue }
                    if field == 1 { ids.0 = Self.hex(id) } else if field == 2 { ids.1 = Self.hex(id) }
                }
                links.append(ids)
            case (15, .bytes(let bytes)):  // Status: code = 3
                var status = ProtobufReader(bytes)
                while let (field, value) = try status.next() {
                    if field == 3, case .varint(let code) = value { statusCode = Int(code) }
                }
            default: continue
            }
        }
    }

    /// A `KeyValue`: its key and its `AnyValue` as text (string 1, bool 2, int 3, double 4).
    private static func keyValue(_ message: ProtobufReader) throws -> (String, String) {
        var reader = message
        var key = "", text = ""
        while let (field, value) = try reader.next() {
            if field == 1, case .bytes(let bytes) = value { key = String(decoding: bytes, as: UTF8.self) }
            guard field == 2, case .bytes(let bytes) = value else { continue }
            var any = ProtobufReader(bytes)
            while let (kind, value) = try any.next() {
                switch (kind, value) {
                case (1, .bytes(let string)): text = String(decoding: string, as: UTF8.self)
                case (2, .varint(let flag)): text = flag != 0 ? "true" : "false"
                case (3, .varint(let number)): text = String(Int64(bitPattern: number))
                case (4, .fixed64(let bits)): text = String(Double(bitPattern: bits))
                default: continue
                }
            }
        }
        return (key, text)
    }

    private static func hex(_ bytes: ArraySlice<UInt8>) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}

/// Reads protobuf's wire format: one field at a time.
private struct ProtobufReader {
    enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case bytes(ArraySlice<UInt8>)
        case fixed32(UInt32)
    }

    struct Malformed: Error {}

    private var bytes: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

    /// The next field's number and value; nil at the end.
    mutating func next() throws -> (Int, Value)? {
        guard !bytes.isEmpty else { return nil }
        let tag = try varint()
        let field = Int(tag >> 3)
        switch tag & 7 {
        case 0: return (field, .varint(try varint()))
        case 1: return (field, .fixed64(try little(8)))
        case 2:
            let count = Int(try varint())
            guard count <= bytes.count else { throw Malformed() }
            defer { bytes = bytes.dropFirst(count) }
            return (field, .bytes(bytes.prefix(count)))
        case 5: return (field, .fixed32(UInt32(try little(4))))
        default: throw Malformed()
        }
    }

    /// Calls `body` with each embedded message in field `number`.
    func forEachMessage(field number: Int, _ body: (ProtobufReader) throws -> Void) throws {
        var reader = self
        while let (field, value) = try reader.next() {
            if field == number, case .bytes(let bytes) = value { try body(ProtobufReader(bytes)) }
        }
    }

    private mutating func varint() throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while let byte = bytes.popFirst() {
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
            guard shift < 64 else { throw Malformed() }
        }
        throw Malformed()
    }

    private mutating func little(_ count: Int) throws -> UInt64 {
        guard bytes.count >= count else { throw Malformed() }
        defer { bytes = bytes.dropFirst(count) }
        return bytes.prefix(count).reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }
}
