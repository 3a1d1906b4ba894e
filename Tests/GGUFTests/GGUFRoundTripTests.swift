import Foundation
import Testing
import WorkerBeeTestSupport

@testable import GGUF

/// A small GGUF file with every metadata type and a few tensors.
func sampleWriter() throws -> GGUFWriter {
    var writer = GGUFWriter()
    writer.set("general.architecture", .string("test"))
    writer.set("u8", .uint8(200))
    writer.set("i8", .int8(-100))
    writer.set("u16", .uint16(60000))
    writer.set("i16", .int16(-30000))
    writer.set("u32", .uint32(4_000_000_000))
    writer.set("i32", .int32(-2_000_000_000))
    writer.set("f32", .float32(3.25))
    writer.set("bool", .bool(true))
    writer.set("string", .string("héllo ✓"))
    writer.set("u64", .uint64(UInt64.max))
    writer.set("i64", .int64(Int64.min))
    writer.set("f64", .float64(-1e300))
    writer.set("strings", .array(elementType: .string, elements: [.string("a"), .string(""), .string("▁b")]))
    writer.set("ints", .array(elementType: .int32, elements: [.int32(1), .int32(-2)]))
    writer.set("nested", .array(elementType: .array, elements: [.array(elementType: .uint8, elements: [.uint8(7)])]))
    writer.set("empty", .array(elementType: .float32, elements: []))
    try writer.addTensor(name: "a", dimensions: [3], type: .f32, data: Float16Conversion.floatData([1, 2, 3]))
    try writer.addTensor(name: "b", dimensions: [2, 2], type: .f16, data: Float16Conversion.halfData([1, -1, 0.5, 2]))
    try writer.addTensor(name: "c", dimensions: [32, 1, 1, 2], type: .q8_0, data: Data(count: 68))
    return writer
}

@Suite struct GGUFRoundTripTests {
    @Test func writtenFileReadsBackWithIdenticalMetadata() throws {
        let writer = try sampleWriter()
        let file = try GGUFFile(data: writer.fileBytes())
        #expect(file.version == 3)
        #expect(file.metadata.count == writer.metadata.count)
        for ((key, value), (readKey, readValue)) in zip(writer.metadata, file.metadata) {
            #expect(key == readKey)
            #expect(value == readValue)
        }
    }

    @Test func writtenFileReadsBackWithIdenticalTensors() throws {
        let writer = try sampleWriter()
        let file = try GGUFFile(data: writer.fileBytes())
        #expect(file.tensors.map(\.name) == ["a", "b", "c"])
        for pending in writer.tensors {
            let info = try #require(file.tensor(named: pending.name))
            #expect(info.dimensions == pending.dimensions)
            #expect(info.type == pending.type)
            #expect(info.offset % file.alignment == 0)
            #expect(try file.bytes(of: info) == pending.data)
        }
    }

    @Test func fileWrittenToDiskEqualsInMemoryBytes() throws {
        let writer = try sampleWriter()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-\(UUID().uuidString).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        try writer.write(to: url)
        #expect(try Data(contentsOf: url) == writer.fileBytes())
        #expect(try GGUFFile(contentsOf: url).tensors.count == 3)
    }

    @Test func customAlignmentIsWrittenAndHonoured() throws {
        var writer = GGUFWriter(alignment: 64)
        try writer.addTensor(name: "x", dimensions: [1], type: .f32, data: Float16Conversion.floatData([1]))
        try writer.addTensor(name: "y", dimensions: [1], type: .f32, data: Float16Conversion.floatData([2]))
        let file = try GGUFFile(data: writer.fileBytes())
        #expect(file.alignment == 64)
        #expect(file.dataOffset % 64 == 0)
        #expect(file.tensor(named: "y")?.offset == 64)
    }

    @Test func theFileTypeIsNamedAsLlamaCppNamesIt() throws {
        func named(_ fileType: UInt32?) throws -> String {
            var writer = GGUFWriter()
            writer.set("general.architecture", .string("test"))
            if let fileType { writer.set("general.file_type", .uint32(fileType)) }
            try writer.addTensor(name: "norm", dimensions: [4], type: .f32, data: Float16Conversion.floatData([1, 2, 3, 4]))
            try writer.addTensor(name: "w1", dimensions: [32, 2], type: .q8_0, data: Data(count: 68))
            try writer.addTensor(name: "w2", dimensions: [32, 2], type: .q8_0, data: Data(count: 68))
            try writer.addTensor(name: "w3", dimensions: [2, 2], type: .f16, data: Float16Conversion.halfData([1, 2, 3, 4]))
            return try GGUFFile(data: writer.fileBytes()).fileTypeName
        }
        #expect(try named(7) == "Q8_0")
        #expect(try named(15) == "Q4_K_M")
        #expect(try named(32) == "BF16")
        #expect(try named(99) == "llama_ftype 99")
        // No key: the type most matrices have (the 1-D norm does not count).
        #expect(try named(nil) == GGMLType.q8_0.description)
    }

    @Test func writerRejectsDataThatDoesNotFitTheShape() {
        var writer = GGUFWriter()
        #expect(throws: GGUFError.self) {
            try writer.addTensor(name: "x", dimensions: [4], type: .f32, data: Data(count: 12))
        }
    }

    @Test func writerRejectsDuplicateTensorNames() throws {
        var writer = GGUFWriter()
        try writer.addTensor(name: "x", dimensions: [1], type: .f32, data: Data(count: 4))
        #expect(throws: GGUFError.self) {
            try writer.addTensor(name: "x", dimensions: [1], type: .f32, data: Data(count: 4))
        }
    }
}
