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
        guard self == .auto else {
            let type = SentenceTransformersConverter.OutputType(rawValue: rawValue) ?? .f16
            return (try SentenceTransformersConverter.convert(directory: directory, to: output, type: type, name: name), type)
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-probe-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        printError("measuring F32, F16 and BF16 on this CPU (--type auto)...")
        let (chosen, measurements) = try WeightTypeProbe.choose(directory: directory, scratch: scratch, name: name)
        printError(WeightTypeProbe.report(measurements, chosen: chosen.type))
        // The measured file is the conversion: keep it rather than convert again.
        try? FileManager.default.removeItem(at: output)
        try FileManager.default.moveItem(at: chosen.file, to: output)
        return (chosen.report.moved(to: output), chosen.type)
    }
}
