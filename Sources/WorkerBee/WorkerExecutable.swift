import Foundation
import WorkerBeeWire

/// Finds the program a ``WorkerProcess`` starts as its worker.
public enum WorkerExecutable {
    /// The worker executable, searched in this order:
    /// 1. `configured` (``WorkerConfiguration/Launch/executable``), as given;
    /// 2. the running program itself when it is `workerbee`;
    /// 3. `workerbee` beside the running program;
    /// 4. `$WORKERBEE_HOME/bin/workerbee`;
    /// 5. `workerbee` on `PATH`.
    /// - Throws: ``WorkerError`` `.spawnFailed` naming every place it looked.
    public static func locate(configured: URL? = nil) throws(WorkerError) -> URL {
        if let configured { return configured }
        var running: [URL] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            running.append(URL(fileURLWithPath: exe))
        }
        running.append(URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath())
        var looked: [String] = []
        for program in running {
            if program.lastPathComponent == "workerbee" { return program }
            let sibling = program.deletingLastPathComponent().appendingPathComponent("workerbee")
            if FileManager.default.isExecutableFile(atPath: sibling.path) { return sibling }
            looked.append(sibling.path)
        }
        let home = ModelDirectory.home.appendingPathComponent("bin/workerbee")
        if FileManager.default.isExecutableFile(atPath: home.path) { return home }
        looked.append(home.path)
        if let onPath = ExternalProgram.find("workerbee") { return onPath }
        looked.append("workerbee on PATH")
        var seen = Set<String>()
        let places = looked.filter { seen.insert($0).inserted }.joined(separator: ", ")
        throw WorkerError(
            .spawnFailed,
            "cannot find the workerbee executable (looked at \(places)); install it (scripts/install) or set WorkerConfiguration.launch.executable")
    }
}
