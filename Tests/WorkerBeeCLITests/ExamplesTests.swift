import Foundation
import Testing
import WorkerBee
import WorkerBeeTestSupport
import WorkerBeeWire
import WorkerBeeModels

/// The programs in Examples/EmbedTexts, built as a user's package would build them (a package
/// of their own that depends on WorkerBee by path) and run, so the examples and docs/LIBRARY.md
/// cannot rot.
@Suite(.serialized, .timeLimit(.minutes(20))) struct ExamplesTests {
    static let package = repositoryRoot.appendingPathComponent("Examples/EmbedTexts")

    /// Builds the example package once for both tests; its binaries' folder.
    static let built = Task<URL, any Error> {
        let swift = try #require(ExternalProgram.find("swift"), "swift is not on PATH")
        // SwiftPM keeps the build plan of the last build (`.build/*.yaml`) and does not always see
        // a source file added to WorkerBee since; drop it so the plan is made from the files as
        // they are.
        let scratch = package.appendingPathComponent(".build")
        for file in (try? FileManager.default.contentsOfDirectory(atPath: scratch.path)) ?? [] where file.hasSuffix(".yaml") {
            try? FileManager.default.removeItem(at: scratch.appendingPathComponent(file))
        }
        let build = try await StuckProgram.run(swift, arguments: ["build", "--package-path", package.path], timeout: .seconds(900))
        #expect(build.succeeded, "\(String(decoding: build.stdout + build.stderr, as: UTF8.self).suffix(4000))")
        let paths = try await StuckProgram.run(swift, arguments: ["build", "--package-path", package.path, "--show-bin-path"], timeout: .seconds(300))
        return URL(fileURLWithPath: String(decoding: paths.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// A WorkerBee home with the real models and no `bin` folder, so that no installed
    /// `workerbee` can stand in for the worker the test means.
    static func home() throws -> URL {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-example-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: home.appendingPathComponent("models"), withDestinationURL: ModelDirectory.home.appendingPathComponent("models"))
        return home
    }

    @Test func anAppOnTheHostLibraryEmbedsWithTheWorkerbeeItFindsOnPath() async throws {
        let bin = try await Self.built.value
        let home = try Self.home()
        defer { try? FileManager.default.removeItem(at: home) }
        let workerbee = try workerbeeExecutable.deletingLastPathComponent()
        let run = try await StuckProgram.run(
            bin.appendingPathComponent("embed-two-texts"), arguments: [],
            environment: ["WORKERBEE_HOME": home.path, "PATH": "\(workerbee.path):/usr/bin:/bin"], timeout: .seconds(300))
        let output = String(decoding: run.stdout, as: UTF8.self)
        #expect(run.succeeded, "\(String(decoding: run.stderr, as: UTF8.self))")
        #expect(output.contains("384 floats, first three") && output.contains("The cat sat on the mat.") && output.contains("A dog slept by the door."), "\(output)")
    }

    @Test func anAppOnTheHostLibraryWithoutAWorkerSaysWhereItLookedAndHowToFixIt() async throws {
        let bin = try await Self.built.value
        let home = try Self.home()
        defer { try? FileManager.default.removeItem(at: home) }
        let run = try await StuckProgram.run(bin.appendingPathComponent("embed-two-texts"), arguments: [], environment: ["WORKERBEE_HOME": home.path, "PATH": "/usr/bin:/bin"], timeout: .seconds(300))
        let errors = String(decoding: run.stderr, as: UTF8.self)
        #expect(!run.succeeded)
        #expect(errors.contains("looked at") && errors.contains("WorkerBeeWorker.runIfRequested()") && errors.contains("scripts/install"), "\(errors)")
    }

    @Test func anAppThatIsItsOwnWorkerEmbedsWithNoWorkerbeeAnywhere() async throws {
        let bin = try await Self.built.value
        let home = try Self.home()
        defer { try? FileManager.default.removeItem(at: home) }
        let run = try await StuckProgram.run(bin.appendingPathComponent("own-worker"), arguments: [], environment: ["WORKERBEE_HOME": home.path, "PATH": "/usr/bin:/bin"], timeout: .seconds(300))
        let output = String(decoding: run.stdout, as: UTF8.self)
        #expect(run.succeeded, "\(String(decoding: run.stderr, as: UTF8.self))")
        #expect(output.contains("20 vectors of 384 floats from 2 worker processes of this program"), "\(output)")
    }
}
