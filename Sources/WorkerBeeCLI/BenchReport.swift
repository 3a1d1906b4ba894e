import ArgumentParser
import Foundation
import WorkerBee
import WorkerBeeEngine
import WorkerBeeWire

struct BenchReport: Encodable {
    var mode: String
    var model: String
    var texts: Int
    var textsPerRequest: Int
    var processes: Int
    var threads: Int
    var tokens = 0
    var seconds = 0.0
    var textsPerSecond = 0.0
    var tokensPerSecond = 0.0
    var latencyMs: [Double] = []
    var coldStartSeconds = 0.0
    var oneTextRoundTripMs = 0.0
    var hostCPUMillisecondsPer1000Vectors = 0.0
    var hostPeakBytes: Int?
    var workerPeakBytes: Int?

    var text: String {
        let mib = { (bytes: Int?) in bytes.map { String(format: "%.1f MiB", Double($0) / 1_048_576) } ?? "n/a" }
        return """
            mode: \(mode); model: \(model); processes: \(processes) x \(threads) thread(s)
            texts: \(texts) (\(tokens) tokens), \(textsPerRequest) per call
            throughput: \(String(format: "%.1f", textsPerSecond)) texts/s, \(String(format: "%.0f", tokensPerSecond)) tokens/s (best pass: \(String(format: "%.3f", seconds)) s)
            request latency: p50 \(String(format: "%.2f", latencyMs[0])) ms, p95 \(String(format: "%.2f", latencyMs[1])) ms, p99 \(String(format: "%.2f", latencyMs[2])) ms
            host CPU time: \(String(format: "%.1f", hostCPUMillisecondsPer1000Vectors)) ms per 1,000 vectors
            one-text round trip (median of 30): \(String(format: "%.2f", oneTextRoundTripMs)) ms
            cold start (start to first vector): \(String(format: "%.3f", coldStartSeconds)) s
            peak memory: host \(mib(hostPeakBytes)), workers \(mib(workerPeakBytes)) (sum over workers)
            """
    }
}
