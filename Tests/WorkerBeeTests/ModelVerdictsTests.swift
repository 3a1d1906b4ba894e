import Foundation
import Testing
import WorkerBee
import WorkerBeeModels

/// `model-verdicts.json` is shared by every WorkerBee process with the same home: a verdict one
/// process records is never lost to another process's record at the same moment.
@Suite struct ModelVerdictsTests {
    /// Another process's writer, following the file's protocol: `flock` on
    /// `model-verdicts.json.lock` around load, change and rename. It holds the lock for 2 ms
    /// between its load and its write, so a writer that ignored the lock would lose keys.
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
                time.sleep(0.002)
                verdicts["python-%d" % i] = {"size": i, "modified": 0, "reason": "recorded by another process"}
                temporary = "%s.python-%d.tmp" % (path, os.getpid())
                with open(temporary, "w") as f:
                    json.dump(verdicts, f)
                os.rename(temporary, path)
                fcntl.flock(lock, fcntl.LOCK_UN)
                time.sleep(0.001)
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

        async let other = ExternalProgram.run(python, arguments: ["-c", Self.otherWriter, verdicts.url.path, "\(count)"], timeout: .seconds(120))
        await withTaskGroup(of: Void.self) { group in
            for lane in 0..<4 {
                group.addTask {
                    for model in models[(lane * count / 4)..<((lane + 1) * count / 4)] {
                        verdicts.record(model, reason: "recorded by this process")
                        try? await Task.sleep(for: .milliseconds(1))
                    }
                }
            }
        }
        let output = try await other
        #expect(output.succeeded, "\(String(decoding: output.stderr, as: UTF8.self))")

        let kept = try JSONSerialization.jsonObject(with: Data(contentsOf: verdicts.url)) as? [String: Any] ?? [:]
        let missingHere = models.filter { verdicts.verdict(for: $0) == nil }.count
        let missingThere = (0..<count).filter { kept["python-\($0)"] == nil }.count
        #expect(missingHere == 0, "\(missingHere) of this process's \(count) verdicts were lost")
        #expect(missingThere == 0, "\(missingThere) of the other process's \(count) verdicts were lost")
    }
}
