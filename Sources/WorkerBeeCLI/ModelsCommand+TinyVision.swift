import ArgumentParser
import Foundation
import GGUF
import WorkerBeeWire
import WorkerBeeFixtures

extension ModelsCommand {
    struct TinyVision: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tiny-vision",
            abstract: "Write a tiny generated vision model and projector (random weights; for trying the OCR pipeline).")

        @Option(help: "Models folder (default: $WORKERBEE_HOME/models).")
        var modelsDir: String?

        func run() throws {
            let files = try TinyModels.writeVisionModel(to: modelsDirectory(modelsDir).url)
            print(files.model.path)
            print(files.projector.path)
            printError("use it with: workerbee ocr FILE --model tiny-vision (it reads nothing: its weights are random)")
        }
    }
}
