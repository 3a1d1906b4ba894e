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

    /// The refusal for this machine, or nil when it can run the installed build.
    static func check(home: URL = ModelDirectory.home) -> String? {
        let recorded = try? String(contentsOf: home.appendingPathComponent("llama/cpu-flags"), encoding: .utf8)
        let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let current = cpuinfo?.split(separator: "\n").first { $0.hasPrefix("flags") }.map { String($0.drop { $0 != ":" }.dropFirst()) }
        let missing = missingFlags(recorded: recorded, current: current)
        guard !missing.isEmpty else { return nil }
        return "this CPU lacks \(missing.joined(separator: ", ")), which the installed llama.cpp was built for (a WorkerBee home copied from another machine?); rebuild it for this CPU: rm -rf \(home.path)/llama && scripts/bootstrap"
    }
}
