import Foundation

/// A `multipart/form-data` body (RFC 7578) split into its parts: what browsers, `curl -F` and
/// Python's `requests.post(files=...)` send.
struct MultipartForm: Sendable {
    /// One part: a form field or a file.
    struct Part: Sendable {
        /// The field name from `Content-Disposition`.
        let name: String?
        /// The file name from `Content-Disposition`, for a file.
        let filename: String?
        /// The part's `Content-Type`, if it has one.
        let contentType: String?
        /// The part's bytes.
        let body: Data
    }

    let parts: [Part]

    /// The `boundary` parameter of a `multipart/form-data` content type, or nil if `contentType`
    /// is not one.
    static func boundary(contentType: String) -> String? {
        let fields = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard fields.first?.lowercased() == "multipart/form-data" else { return nil }
        for field in fields.dropFirst() where field.lowercased().hasPrefix("boundary=") {
            let value = field.dropFirst("boundary=".count)
            let unquoted = value.hasPrefix("\"") && value.hasSuffix("\"") && value.count >= 2 ? value.dropFirst().dropLast() : value
            return unquoted.isEmpty ? nil : String(unquoted)
        }
        return nil
    }

    /// Splits `body` at `boundary`.
    /// - Throws: ``APIError`` 400 when the body is not a well-formed form.
    init(body: Data, boundary: String) throws {
        let delimiter = Data("--\(boundary)".utf8)
        let separator = Data("\r\n--\(boundary)".utf8)
        let headerEnd = Data("\r\n\r\n".utf8)
        guard let first = body.range(of: delimiter) else {
            throw APIError.badRequest("the multipart body has no part delimited by its boundary")
        }
        var parts: [Part] = []
        var cursor = first.upperBound
        while true {
            let rest = body[cursor...]
            if rest.starts(with: Data("--".utf8)) { break }  // the closing delimiter
            guard rest.starts(with: Data("\r\n".utf8)), let end = body.range(of: headerEnd, in: cursor..<body.endIndex) else {
                throw APIError.badRequest("a multipart part has no header block")
            }
            let headers = String(decoding: body[(cursor + 2)..<end.lowerBound], as: UTF8.self)
            guard let next = body.range(of: separator, in: end.upperBound..<body.endIndex) else {
                throw APIError.badRequest("the multipart body ends before its closing boundary")
            }
            parts.append(Self.part(headers: headers, body: body[end.upperBound..<next.lowerBound]))
            cursor = next.upperBound
        }
        self.parts = parts
    }

    /// The first part that is a file (has a file name), else the one called `file`.
    var file: Part? { parts.first { $0.filename != nil } ?? parts.first { $0.name == "file" } }

    /// The text of the field called `name`.
    func field(_ name: String) -> String? {
        parts.first { $0.name == name && $0.filename == nil }.map { String(decoding: $0.body, as: UTF8.self) }
    }

    private static func part(headers: String, body: Data) -> Part {
        var name: String?, filename: String?, contentType: String?
        for line in headers.components(separatedBy: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if key == "content-type" { contentType = value }
            guard key == "content-disposition" else { continue }
            for parameter in value.split(separator: ";").dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard pair.count == 2 else { continue }
                let unquoted = pair[1].hasPrefix("\"") && pair[1].hasSuffix("\"") && pair[1].count >= 2 ? String(pair[1].dropFirst().dropLast()) : pair[1]
                if pair[0].lowercased() == "name" { name = unquoted }
                if pair[0].lowercased() == "filename" { filename = unquoted }
            }
        }
        return Part(name: name, filename: filename, contentType: contentType, body: Data(body))
    }
}
