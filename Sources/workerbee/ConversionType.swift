import ArgumentParser
import Foundation
import GGUF

/// The weight type `models import` and `models pull` convert a sentence-transformers model to:
/// a fixed one, or `auto`, measured on this CPU by ``WeightTypeProbe``.
enum ConversionType: String, ExpressibleByArgument, CaseIterable {
    case auto, f16, bf16, f32

    /// Converts `directory` to `output`, choosing the type first when `auto`; progress and the
    /// choice go to stderr.
    func convert(directory: URL, to output: URL, name: String) throws -> (SentenceTransformersConverter.Report, SentenceTransformersConverter.OutputType) {
        var type = SentenceTransformersConverter.OutputType(rawValue: rawValue) ?? .f16
        if self == .auto {
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-probe-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: scratch) }
            printError("measuring F32, F16 and BF16 on this CPU (--type auto)...")
            let (chosen, measurements) = try WeightTypeProbe.choose(directory: directory, scratch: scratch, name: name)
            printError(WeightTypeProbe.report(measurements, chosen: chosen))
            type = chosen
        }
        return (try SentenceTransformersConverter.convert(directory: directory, to: output, type: type, name: name), type)
    }
}
