/// Runs `body`, then awaits `cleanup` whether `body` returned or threw. This is the awaited form
/// of `defer { Task { await worker.stop() } }`, whose stop nobody waits for: the test ends, and
/// its sandbox is deleted, while the worker is still stopping.
public func withCleanup<T>(_ cleanup: () async -> Void, _ body: () async throws -> T) async throws -> T {
    do {
        let value = try await body()
        await cleanup()
        return value
    } catch {
        await cleanup()
        throw error
    }
}
