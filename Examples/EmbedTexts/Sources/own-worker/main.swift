import Foundation
import WorkerBee
import WorkerBeeEngine

// First thing: when WorkerBee starts this program as its worker, it becomes the worker here and
// never returns. Otherwise it returns at once, and WorkerBee will start this program (not
// `workerbee`) as its worker.
WorkerBeeWorker.runIfRequested()

let pool = WorkerPool(processes: 2, threadsPerProcess: 1)
do {
    let texts = (1...20).map { "Sentence number \($0) about the weather." }
    let vectors = try await pool.embed(.texts(texts)).vectors
    print("\(vectors.count) vectors of \(vectors[0].count) floats from \(await pool.statistics.spawns) worker processes of this program")
} catch {
    FileHandle.standardError.write(Data("own-worker: \(error)\n".utf8))
    exit(1)
}
await pool.stop()
