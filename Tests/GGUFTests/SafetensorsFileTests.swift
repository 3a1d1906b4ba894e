import BinaryCoding
import Foundation
import Testing
import WorkerBeeTestSupport

@testable import GGUF

/// Writes a safetensors file with the given tensors (name -> (dtype, shape, bytes)).
func writeSafetensors(_ tensors: [(String, String, [Int], [UInt8])], to url: URL, headerOverride: String? = nil) throws {
    var offset = 0
    var entries: [String] = []
    var body: [UInt8] = []
    for (name, dtype, shape, bytes) in tensors {
        entries.append("\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":[\(offset),\(offset + bytes.count)]}")
        offset += bytes.count
        body += bytes
    }
    let header = headerOverride ?? "{\"__metadata__\":{\"format\":\"pt\"}," + entries.joined(separator: ",") + "}"
    var out = ByteWriter()
    out.append(UInt64(header.utf8.count))
    out.append(contentsOf: Array(header.utf8))
    out.append(contentsOf: body)
    try Data(out.bytes).write(to: url)
}

func floatBytes(_ values: [Float]) -> [UInt8] { Array(Float16Conversion.floatData(values)) }

@Suite struct SafetensorsFileTests {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString).safetensors")

    @Test func readsFloat32Float16AndBFloat16Tensors() throws {
        defer { try? FileManager.default.removeItem(at: url) }
        let bf16: [UInt8] = [0x80, 0x3F, 0x00, 0xC0]  // 1.0, -2.0
        try writeSafetensors([
            ("w", "F32", [2, 2], floatBytes([1, 2, 3, 4])),
            ("h", "F16", [2], Array(Float16Conversion.halfData([0.5, -4]))),
            ("b", "BF16", [2], bf16),
        ], to: url)
        let file = try SafetensorsFile(contentsOf: url)
        #expect(file.tensors.map(\.name) == ["b", "h", "w"])
        #expect(file.metadata["format"] == "pt")
        #expect(try file.floats(of: #require(file.tensor(named: "w"))) == [1, 2, 3, 4])
        #expect(try file.floats(of: #require(file.tensor(named: "h"))) == [0.5, -4])
        #expect(try file.floats(of: #require(file.tensor(named: "b"))) == [1, -2])
        #expect(file.tensor(named: "w")?.shape == [2, 2])
    }

    @Test func truncatedDataIsRejected() throws {
        defer { try? FileManager.default.removeItem(at: url) }
        try writeSafetensors([("w", "F32", [4], floatBytes([1, 2, 3, 4]))], to: url)
        let data = try Data(contentsOf: url)
        try data.prefix(data.count - 3).write(to: url)
        #expect(throws: GGUFError.self) { try SafetensorsFile(contentsOf: url) }
    }

    @Test func headerLongerThanFileIsRejected() throws {
        defer { try? FileManager.default.removeItem(at: url) }
        var out = ByteWriter()
        out.append(UInt64(1 << 40))
        try Data(out.bytes).write(to: url)
        #expect(throws: GGUFError.self) { try SafetensorsFile(contentsOf: url) }
    }

    @Test func shapeThatDisagreesWithTheByteCountIsRejected() throws {
        defer { try? FileManager.default.removeItem(at: url) }
        try writeSafetensors([], to: url, headerOverride: "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}")
        let data = try Data(contentsOf: url) + Data(count: 8)
        try data.write(to: url)
        #expect(throws: GGUFError.self) { try SafetensorsFile(contentsOf: url) }
    }

    @Test func integerTensorsAreNotReadAsFloats() throws {
        defer { try? FileManager.default.removeItem(at: url) }
        try writeSafetensors([("ids", "I64", [1], [1, 0, 0, 0, 0, 0, 0, 0])], to: url)
        let file = try SafetensorsFile(contentsOf: url)
        let ids = try #require(file.tensor(named: "ids"))
        #expect(throws: GGUFError.self) { try file.floats(of: ids) }
    }
}
