import Foundation
import WorkerBee

// The worker is the `workerbee` executable: beside this program, in $WORKERBEE_HOME/bin
// (scripts/install) or on PATH. The model is the default one in $WORKERBEE_HOME/models.
let worker = WorkerProcess()
do {
    let texts = ["The cat sat on the mat.", "A dog slept by the door."]
    let vectors = try await worker.embed(.texts(texts)).vectors
    for (text, vector) in zip(texts, vectors) {
        print("\(vector.count) floats, first three \(vector.prefix(3).map { String(format: "%.4f", $0) }.joined(separator: " ")): \(text)")
    }
} catch {
    FileHandle.standardError.write(Data("embed-two-texts: \(error)\n".utf8))
    exit(1)
}
await worker.stop()
