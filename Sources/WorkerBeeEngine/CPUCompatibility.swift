import Foundation
import WorkerBeeWire
import WorkerBeeModels

/// Whether the running CPU has every instruction set the installed llama.cpp was built for.
///
/// `scripts/bootstrap` builds llama.cpp for the CPU it runs on (`-march=native`) and records that
/// CPU's flags in `$WORKERBEE_HOME/llama/cpu-flags`. On another CPU (a copied home, a VM moved to
/// another host) ggml would die of SIGILL at the first instruction the CPU lacks; the worker
/// refuses to start instead, saying which instructions are missing and how to rebuild.
enum CPUCompatibility {
    /// The flags that matter to a native build of ggml.
    static let relevant: Set<String> = [
        "sse3", "ssse3", "sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "bmi2", "avx512f", "avx512bw", "avx512dq",
        "avx512vl", "avx512_vnni", "avx512_bf16", "avx512vbmi", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16",
    ]

    /// The exit status of a worker that refuses to run on this CPU.
    static let exitStatus: Int32 = 78

    /// The recorded build flags this CPU lacks; empty when nothing was recorded or all are there.
    static func missingFlags(recorded: String?, current: String?) -> [String] {
        guard let recorded, let current else { return [] }
        let built = Set(recorded.split(whereSeparator: \.isWhitespace).map(String.init)).intersection(relevant)
        let here = Set(current.split(whereSeparator: \.isWhitespace).map(String.init))
        return built.subtracting(here).sorted()
    }

    /// The refusal for this machine, or nil when it can run the installed build. A packaged
    /// workerbee (`scripts/package`: `bin/workerbee` beside `BUILD-CPU-FLAGS`) is checked against
    /// the flags of the machine its llama.cpp was built on; otherwise the home's llama.cpp is.
    static func check(home: URL = ModelDirectory.home, executable: URL? = runningExecutable, current: String? = currentFlags) -> String? {
        let packaged = executable.map { $0.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("BUILD-CPU-FLAGS") }
        if let packaged, let recorded = try? String(contentsOf: packaged, encoding: .utf8) {
            let missing = missingFlags(recorded: recorded, current: current)
            guard !missing.isEmpty else { return nil }
            return "this CPU lacks \(missing.joined(separator: ", ")), which the llama.cpp in this package was built for (\(packaged.path)); make the package on a machine of this CPU family (scripts/package)"
        }
        let recorded = try? String(contentsOf: home.appendingPathComponent("llama/cpu-flags"), encoding: .utf8)
        let missing = missingFlags(recorded: recorded, current: current)
        guard !missing.isEmpty else { return nil }
        return "this CPU lacks \(missing.joined(separator: ", ")), which the installed llama.cpp was built for (a WorkerBee home copied from another machine?); rebuild it for this CPU: rm -rf \(home.path)/llama && scripts/bootstrap"
    }

    /// This CPU's flags, from `/proc/cpuinfo` (nil where there is none).
    static var currentFlags: String? {
        let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        return cpuinfo?.split(separator: "\n").first { $0.hasPrefix("flags") }.map { String($0.drop { $0 != ":" }.dropFirst()) }
    }

    /// The running program's file.
    static var runningExecutable: URL? {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")).map { URL(fileURLWithPath: $0) }
    }
}
