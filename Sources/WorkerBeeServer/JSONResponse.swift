import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// JSON responses built from bytes the handlers write themselves (vectors are formatted
/// directly, not through `JSONEncoder`, which is the hot path of every embedding response).
enum JSONResponse {
    /// A response whose body is `bytes`.
    static func make(bytes: [UInt8], status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// A response holding `object` (made of JSON-compatible values) serialised.
    static func make(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return make(bytes: Array(data), status: status)
    }

    /// Appends `value` as a JSON number (0 for a value that is not finite).
    static func append(_ value: Float, to out: inout [UInt8]) {
        out.append(contentsOf: (value.isFinite ? value.description : "0").utf8)
    }

    /// Appends `vector` as a JSON array of numbers.
    static func append(_ vector: some Collection<Float>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        var first = true
        for value in vector {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(contentsOf: (value.isFinite ? value.description : "0").utf8)
        }
        out.append(UInt8(ascii: "]"))
    }

    /// Appends `vector` as a JSON string: base64 of its little-endian float32 bytes.
    static func appendBase64(_ vector: [Float], to out: inout [UInt8]) {
        let data = vector.withUnsafeBufferPointer { Data(buffer: $0) }
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: data.base64EncodedString().utf8)
        out.append(UInt8(ascii: "\""))
    }

    /// Appends `text` as a JSON string.
    static func append(string text: String, to out: inout [UInt8]) {
        let data = (try? JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed, .withoutEscapingSlashes])) ?? Data("\"\"".utf8)
        out.append(contentsOf: data)
    }
}
