import ArgumentParser
import Foundation
import WorkerBee
import WorkerBeeWire

/// The options `ocr` and `bench ocr` share: which vision model, which projector, how to run it.
struct VisionOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Vision model: a name in the models folder or a path to the text model GGUF (default: $WORKERBEE_VISION_MODEL).")
    var model: String?

    @Option(help: "The projector (mmproj) GGUF; default: *mmproj*.gguf beside the model.")
    var mmproj: String?

    @Option(help: "Most tokens to generate per page; 0 means up to the context.")
    var maxTokens: Int = 0

    @Option(help: "PDF rasterization resolution (default: 300 for Tesseract, which reads small print best at 300 DPI; 150 for a vision model).")
    var dpi: Int?

    @Option(help: "Models folder (default: $WORKERBEE_HOME/models).")
    var modelsDir: String?

    @Option(help: "CPU threads (default: all cores).")
    var threads: Int?

    func validate() throws {
        if let dpi, dpi < 10 || dpi > 1200 { throw ValidationError("--dpi must be between 10 and 1200") }
        if maxTokens < 0 { throw ValidationError("--max-tokens cannot be negative") }
    }

    /// Refuses to go on without a vision model (for the commands that need one).
    func requireModel() throws {
        if resolvedModel.isEmpty {
            throw ValidationError("no vision model: pass --model (or set WORKERBEE_VISION_MODEL); see docs/VISION.md")
        }
    }

    var resolvedModel: String { model ?? ProcessInfo.processInfo.environment["WORKERBEE_VISION_MODEL"] ?? "" }

    func configuration(ocrTimeout: Duration?) -> WorkerConfiguration {
        WorkerConfiguration(
            models: .init(directory: modelsDirectory(modelsDir).url, vision: resolvedModel.isEmpty ? nil : ModelReference(resolvedModel), visionProjector: mmproj.map { URL(fileURLWithPath: ($0 as NSString).expandingTildeInPath) }),
            engine: .init(threads: threads), timeouts: .init(ocr: ocrTimeout))
    }
}
