import Foundation
import GGUF
import Synchronization
import Testing
import WorkerBeeTestSupport
import WorkerBee
import WorkerBeeWire

/// An async sequence of texts that counts how many were read.
struct CountingTexts: AsyncSequence, Sendable {
    typealias Element = String
    let texts: [String]
    let read = Counter()

    final class Counter: Sendable {
        private let value = Mutex(0)
        var count: Int { value.withLock { $0 } }
        func increment() { value.withLock { $0 += 1 } }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let texts: [String]
        let read: Counter
        var index = 0
        mutating func next() async -> String? {
            guard index < texts.count else { return nil }
            defer { index += 1 }
            read.increment()
            return texts[index]
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(texts: texts, read: read) }
}
