import Foundation
import Testing
import WorkerBeeTestSupport

@Suite(.timeLimit(.minutes(10))) struct VersionTests {
    @Test func versionNamesTheReleaseTheLlamaLibraryAndItsCPUFeatures() async throws {
        let run = try await CommandRun.run(["--version"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("workerbee 0.") == true, "\(run.stdout)")
        #expect(lines.contains { $0.hasPrefix("llama.cpp: /") && $0.contains("libllama") }, "\(run.stdout)")
        #expect(lines.contains { $0.contains("CPU :") }, "\(run.stdout)")
    }

    /// The llama.cpp the setup built carries every patch in patches/ (the bootstrap rebuilds it
    /// when the patch set changes), and `--version` names them.
    @Test func theSetupsLlamaCppCarriesEveryPatchInTheRepository() async throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("patches/llama-cpp-python-0.3.36")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".patch") && !$0.contains("marker") }
        #expect(files.count >= 4)
        let run = try await CommandRun.run(["--version"])
        let line = try #require(run.stdout.split(separator: "\n").first { $0.hasPrefix("WorkerBee patches: ") }, "\(run.stdout)")
        for file in files {
            // 0003-ggml-cpu-vectorized-gelu.patch -> vectorized-gelu
            let name = file.replacingOccurrences(of: ".patch", with: "").split(separator: "-").dropFirst(3).joined(separator: "-")
            #expect(line.contains(name), "\(file) is not in the built llama.cpp: \(line)")
        }
    }
}
