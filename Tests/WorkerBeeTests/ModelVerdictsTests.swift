import Foundation
import Testing
import WorkerBee
import WorkerBeeModels
import WorkerBeeTestSupport

/// `model-verdicts.json` is shared by every WorkerBee process with the same home: a verdict one
/// process records is never lost to another process's record at the same moment.
@Suite struct ModelVerdictsTests {
    /// Another process's writer, following the file's protocol: `flock` on
    /// `model-verdicts.json.lock` around load, change and rename, as fast as it can.
    static let otherWriter = """
        import fcntl, json, os, sys, time
        path = sys.argv[1]
        with open(path + ".lock", "a+") as lock:
            for i in range(int(sys.argv[2])):
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    with open(path) as f:
                        verdicts = json.load(f)
                except FileNotFoundError:
                    verdicts = {}
                verdicts["python-%d" % i] = {"size": i, "modified": 0, "reason": "recorded by another process"}
                temporary = "%s.python-%d.tmp" % (path, os.getpid())
                with open(temporary, "w") as f:
                    json.dump(verdicts, f)
                os.rename(temporary, path)
                fcntl.flock(lock, fcntl.LOCK_UN)
        """

    @Test func recordsFromTwoProcessesAtOnceAreAllKept() async throws {
        let python = try #require(ExternalProgram.find("python3"), "python3 is needed for the second process")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-verdicts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let count = 200
        let models = try (0..<count).map { index in
            let model = directory.appendingPathComponent("model-\(index).gguf")
            try Data("model \(index)".utf8).write(to: model)
            return model
        }
        let verdicts = ModelVerdicts(directory: directory)

        async let other = ExternalProgram.run(python, arguments: ["-c", Self.otherWriter, verdicts.url.path, "\(count * 4)"], timeout: .seconds(120))
        // Start once the other writer has written: both then write at once.
        #expect(await ProcessProbe.poll(timeout: .seconds(60)) { FileManager.default.fileExists(atPath: verdicts.url.path) })
        await withTaskGroup(of: Void.self) { group in
            for lane in 0..<4 {
                group.addTask {
                    for model in models[(lane * count / 4)..<((lane + 1) * count / 4)] {
                        verdicts.record(model, reason: "recorded by this process")
                    }
                }
            }
        }
        let output = try await other
        #expect(output.succeeded, "\(String(decoding: output.stderr, as: UTF8.self))")

        let kept = try JSONSerialization.jsonObject(with: Data(contentsOf: verdicts.url)) as? [String: Any] ?? [:]
        let missingHere = models.filter { verdicts.verdict(for: $0) == nil }.count
        let missingThere = (0..<(count * 4)).filter { kept["python-\($0)"] == nil }.count
        #expect(missingHere == 0, "\(missingHere) of this process's \(count) verdicts were lost")
        #expect(missingThere == 0, "\(missingThere) of the other process's \(count * 4) verdicts were lost")
    }
}
