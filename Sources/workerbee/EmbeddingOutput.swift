import Foundation

/// Writes `{"index": i, "embedding": [...]}` lines to stdout, in order, flushing as it goes.
struct EmbeddingOutput {
    private var buffer: [UInt8] = []

    mutating func write(index: Int, vector: [Float]) {
        buffer.append(contentsOf: "{\"index\": \(index), \"embedding\": [".utf8)
        for (position, value) in vector.enumerated() {
            if position > 0 { buffer.append(contentsOf: ", ".utf8) }
            buffer.append(contentsOf: (value.isFinite ? value.description : "null").utf8)
        }
        buffer.append(contentsOf: "]}\n".utf8)
        if buffer.count > 1 << 16 { flush() }
    }

    mutating func flush() {
        guard !buffer.isEmpty else { return }
        FileHandle.standardOutput.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }
}
