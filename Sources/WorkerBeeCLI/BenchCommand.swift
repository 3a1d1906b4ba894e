import ArgumentParser
import Foundation
import WorkerBee
import WorkerBeeEngine
import WorkerBeeWire

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput, latency, cold start and memory.",
        subcommands: [BenchEmbed.self, BenchOCR.self, BenchServeCommand.self, BenchCorpusCommand.self]
    )
}
