import ArgumentParser
import Foundation
import WorkerBee
import WorkerBeeEngine
import WorkerBeeWire

struct BenchCorpusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corpus",
        abstract: "Print the generated benchmark texts as JSON strings, one per line (to feed other tools).")

    @Option(help: "sentences or chunks (~150 words).")
    var shape: BenchCorpus.Shape = .sentences

    @Option(help: "Number of texts.")
    var count: Int = 1000

    func run() throws {
        var output = ""
        for text in BenchCorpus.texts(shape, count: count) {
            output += String(decoding: try JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed]), as: UTF8.self) + "\n"
        }
        print(output, terminator: "")
    }
}
