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
}
