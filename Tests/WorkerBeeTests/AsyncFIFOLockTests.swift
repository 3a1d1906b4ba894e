import Synchronization
import Testing

@testable import WorkerBee

/// The lock serves an actor's callers in the order they reached the actor: the place in line is
/// taken before the caller first suspends, not later on another thread.
@Suite(.timeLimit(.minutes(5))) struct AsyncFIFOLockTests {
    /// An actor that, like ``WorkerProcess``, notes each call's arrival and then waits for the lock.
    actor Caller {
        let lock = AsyncFIFOLock()
        let expected: Int
        private(set) var arrivals: [Int] = []
        private(set) var served: [Int] = []
        private(set) var placesTaken: [Int] = []
        private var everyoneArrived: CheckedContinuation<Void, Never>?

        init(expecting count: Int) {
            expected = count
        }

        func call(_ number: Int) async throws {
            arrivals.append(number)
            let ticket = lock.enter()
            placesTaken.append(ticket.waiting)
            if arrivals.count == expected { everyoneArrived?.resume() }
            try await lock.wait(for: ticket)
            defer { lock.release() }
            served.append(number)
        }

        /// Returns once `expected` calls have arrived (and so taken their places in line).
        func waitForEveryone() async {
            if arrivals.count == expected { return }
            await withCheckedContinuation { everyoneArrived = $0 }
        }
    }

    @Test func callersAreServedInTheOrderTheyReachedTheActor() async throws {
        // 50 rounds of 200 callers. The old lock, which took the place in line after a hop to
        // another thread, failed this in 5 of 5 runs of 300 rounds and 1 of 3 runs of 20; the
        // place is now taken where the caller is, so this guards the order itself.
        for round in 0..<50 {
            let callers = 200
            let caller = Caller(expecting: callers)
            // The test holds the lock while everyone arrives, so all of them queue.
            try await caller.lock.wait(for: caller.lock.enter())
            try await withThrowingTaskGroup(of: Void.self) { group in
                for number in 0..<callers { group.addTask { try await caller.call(number) } }
                await caller.waitForEveryone()
                caller.lock.release()
                try await group.waitForAll()
            }
            let arrivals = await caller.arrivals, served = await caller.served
            try #require(served == arrivals, "round \(round): first difference at \(zip(arrivals, served).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? -1)")
            // Each arrival found everyone who arrived before it already in line.
            try #require(await caller.placesTaken == Array(1...callers), "round \(round)")
        }
    }

    @Test func aCancelledWaiterLeavesTheLineAndTheNextIsServed() async throws {
        let lock = AsyncFIFOLock()
        try await lock.wait(for: lock.enter())
        let cancelled = lock.enter(), next = lock.enter()
        #expect(cancelled.waiting == 1 && next.waiting == 2)
        let waiter = Task { try await lock.wait(for: cancelled) }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        lock.release()
        try await lock.wait(for: next)  // would wait forever if the cancelled ticket had been handed the lock
        lock.release()
        let after = lock.enter()
        #expect(after.waiting == 0, "the lock is free again")
    }
}
