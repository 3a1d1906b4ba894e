import Foundation
import GGUF
import WorkerBee
import WorkerBeeWire
import WorkerBeeFixtures

/// A models folder holding two generated tiny vision models (different seeds).
public struct VisionSandbox: Sendable {
    /// The scratch folder.
    public let sandbox: WorkerSandbox
    /// The models folder with `tiny-vision` and `tiny-vision-b`.
    public let models: URL

    /// Writes the two models.
    public init() throws {
        sandbox = try WorkerSandbox()
        models = sandbox.directory.appendingPathComponent("models")
        try TinyModels.writeVisionModel(to: models)
        let other = sandbox.directory.appendingPathComponent("other")
        let files = try TinyModels.writeVisionModel(to: other, seed: 99)
        try FileManager.default.moveItem(at: files.model, to: models.appendingPathComponent("tiny-vision-b.gguf"))
        try FileManager.default.moveItem(at: files.projector, to: models.appendingPathComponent("tiny-vision-b.mmproj.gguf"))
    }

    /// - Parameter longContext: a 16k context, so that an uncapped generation of the tiny model
    ///   (which never emits an end token) runs for many seconds even on a fast machine.
    public func configuration(ocrTimeout: Duration? = .seconds(120), projector: URL? = nil, longContext: Bool = false) -> WorkerConfiguration {
        var configuration = sandbox.configuration()
        if longContext { configuration.engine.contextSize = 16384 }
        configuration.models.directory = models
        configuration.models.vision = "tiny-vision"
        configuration.models.visionProjector = projector
        configuration.timeouts.ocr = ocrTimeout
        return configuration
    }

    /// A 40 x 40 PNG page; `shade` varies it.
    public static func page(_ shade: UInt8 = 0) -> Data {
        TinyImages.png(width: 40, height: 40) { x, y in (UInt8(x * 6) &+ shade, UInt8(y * 6), 128) }
    }
}
