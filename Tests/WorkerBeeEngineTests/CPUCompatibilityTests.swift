import Foundation
import Testing

@testable import WorkerBeeEngine

@Suite struct CPUCompatibilityTests {
    @Test func flagsTheBuildUsedAndThisCPULacksAreNamed() {
        let missing = CPUCompatibility.missingFlags(recorded: "fpu sse3 avx2 avx512f avx512_bf16 amx_tile", current: "fpu sse3 avx2 fma")
        #expect(missing == ["amx_tile", "avx512_bf16", "avx512f"])
    }

    @Test func flagsThatDoNotMatterToGgmlAreIgnored() {
        #expect(CPUCompatibility.missingFlags(recorded: "fpu vme hypervisor avx2", current: "avx2") == [])
    }

    @Test func nothingRecordedMeansNothingToRefuse() {
        #expect(CPUCompatibility.missingFlags(recorded: nil, current: "avx2") == [])
    }

    @Test func aPackageOnACPUWithoutItsBuildFlagsIsRefusedNamingThePackage() throws {
        let prefix = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-package-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: prefix) }
        try FileManager.default.createDirectory(at: prefix.appendingPathComponent("bin"), withIntermediateDirectories: true)
        try "fpu avx2 amx_tile\n".write(to: prefix.appendingPathComponent("BUILD-CPU-FLAGS"), atomically: true, encoding: .utf8)
        let executable = prefix.appendingPathComponent("bin/workerbee")
        let refusal = CPUCompatibility.check(home: prefix, executable: executable, current: "fpu avx2")
        #expect(refusal?.contains("amx_tile") == true && refusal?.contains("package") == true, "\(refusal ?? "nil")")
        #expect(CPUCompatibility.check(home: prefix, executable: executable, current: "fpu avx2 amx_tile") == nil)
    }
}
