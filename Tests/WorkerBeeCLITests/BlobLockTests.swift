import Foundation
import Synchronization
import Testing
import WorkerBeeTestSupport

@testable import WorkerBeeHub

/// The lock two pulls of one Hub file take: a pull that finds it held waits for the release
/// itself, not on a timer, and a cancelled wait leaves the lock free.
@Suite struct BlobLockTests {
    /// Counts calls from any thread.
    final class Counter: Sendable {
        private let count = Atomic<Int>(0)
        func increment() { count.add(1, ordering: .relaxed) }
        var value: Int { count.load(ordering: .relaxed) }
    }

    @Test func aWaitingPullTakesTheLockOnItsReleaseWithoutRetrying() async throws {
        let (directory, file) = try Self.lockFile()
        defer { try? FileManager.default.removeItem(at: directory) }
        // `flock` locks belong to an open file description: a second open of the file in this
        // process conflicts with this one exactly as another process's would.
        let holder = try Self.hold(file)
        let (notes, noted) = AsyncStream<String>.makeStream()
        let progress = HubProgress(note: { noted.yield($0) }, meter: { _ in { _ in } })
        let attempts = Counter()
        let waiting = Task { try await BlobLock.acquire(file, progress: progress, onAttempt: { attempts.increment() }) }

        let note = await notes.first { _ in true }
        #expect(note?.contains("waiting for another pull of the same file") == true, "\(note ?? "no note")")
        // The other pull lets go once the waiter has made its second attempt: a blocking wait
        // ends with this release; a poll would need a third attempt to see it.
        #expect(await ProcessProbe.poll { attempts.value >= 2 }, "the waiter never tried a second time")
        #expect(flock(holder, LOCK_UN) == 0)
        close(holder)
        let lock = try await waiting.value
        lock.release()
        // One try that finds the lock held, then one wait that ends with the release.
        #expect(attempts.value == 2, "acquire called flock \(attempts.value) times")
    }

    @Test func aCancelledWaitThrowsAndLeavesTheLockFreeForTheNextPull() async throws {
        let (directory, file) = try Self.lockFile()
        defer { try? FileManager.default.removeItem(at: directory) }
        let holder = try Self.hold(file)
        let (notes, noted) = AsyncStream<String>.makeStream()
        let progress = HubProgress(note: { noted.yield($0) }, meter: { _ in { _ in } })
        let waiting = Task { try await BlobLock.acquire(file, progress: progress) }
        _ = await notes.first { _ in true }
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }

        #expect(flock(holder, LOCK_UN) == 0)
        close(holder)
        // The abandoned wait must not keep the lock: the next pull gets it.
        let next = try await BlobLock.acquire(file)
        next.release()
    }

    private static func lockFile() throws -> (directory: URL, file: URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("workerbee-blob-lock-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return (directory, directory.appendingPathComponent("blob.lock"))
    }

    /// Opens `file` and takes its lock; returns the descriptor.
    private static func hold(_ file: URL) throws -> Int32 {
        let fd = open(file.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        try #require(fd >= 0)
        try #require(flock(fd, LOCK_EX | LOCK_NB) == 0)
        return fd
    }
}
