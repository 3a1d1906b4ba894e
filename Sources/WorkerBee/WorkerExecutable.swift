import Foundation
import WorkerBeeWire
import WorkerBeeModels

/// Finds the program a ``WorkerProcess`` starts as its worker.
package enum WorkerExecutable {
    /// The worker executable, searched in this order:
    /// 1. `configured` (``WorkerConfiguration/Launch/executable``), as given;
    /// 2. the running program itself when it can be a worker: it called
    ///    `WorkerBeeWorker.runIfRequested()` (it links the engine), or it is `workerbee`;
    /// 3. `workerbee` beside the running program;
    /// 4. `$WORKERBEE_HOME/bin/workerbee` (where `scripts/install` puts it);
    /// 5. `workerbee` on `PATH`.
    /// - Throws: ``WorkerError`` `.spawnFailed` naming every place it looked and the two fixes.
    package static func locate(configured: URL? = nil) throws(WorkerError) -> URL {
        if let configured { return configured }
        let running = runningProgram
        if WorkerInvocation.runningProgramIsWorkerCapable, let program = running.first { return program }
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
            "cannot find a worker executable (looked at \(places)). Either make this program its own worker "
                + "(link WorkerBeeEngine and call WorkerBeeWorker.runIfRequested() first thing in main), or install "
                + "workerbee (scripts/install puts it in $WORKERBEE_HOME/bin) or set WorkerConfiguration.launch.executable; "
                + "see docs/LIBRARY.md")
    }

    /// The running program's file: `/proc/self/exe` where there is one, and `argv[0]` resolved.
    static var runningProgram: [URL] {
        var running: [URL] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            running.append(URL(fileURLWithPath: exe))
        }
        running.append(URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath())
        return running
    }
}
