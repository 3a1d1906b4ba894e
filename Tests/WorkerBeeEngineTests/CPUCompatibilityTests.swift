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
}
