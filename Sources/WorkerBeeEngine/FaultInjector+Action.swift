import Foundation
import WorkerBeeWire

extension FaultInjector.Action {
    /// Does what the action says, as native code misbehaving would: crash, hang, write garbage.
    /// - Parameters:
    ///   - requestID: the request being served (0 at start).
    ///   - abort: the request's cancel signal (`slow` honours it).
    ///   - lastEmbedAnswer: the previous embed answer, for `late-answer`.
    func perform(requestID: UInt64, channel: HostChannel, abort cancel: AbortSignal, lastEmbedAnswer: (id: UInt64, result: EmbedResult)?) {
        WorkerLog.write("fault injection: \(self) (request \(requestID))")
        switch self {
        case .segv:
            // A real invalid access, as native code would make (raise() would let a signal
            // handler return into this function).
            UnsafeMutablePointer<Int>(bitPattern: 0x10)!.pointee = 1
        case .abort:
            Foundation.abort()
        case .sigill:
            signal(SIGILL, SIG_DFL)
            raise(SIGILL)
        case .exit:
            _exit(3)
        case .hang:
            while true { sleep(60) }
        case .slow(let seconds):
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if cancel.isRaised { return }
                usleep(10_000)
            }
        case .exitMidFrame:
            let frame = WorkerResponse.loaded.frame(requestID: requestID).encoded()
            channel.writeRaw(Array(frame.prefix(frame.count / 2)))
            _exit(4)
        case .garbage:
            channel.writeRaw(Array("this is not a frame\n".utf8) + [UInt8](repeating: 0xFF, count: 16))
        case .stdoutNoise:
            print("native code says hello on stdout")
            fflush(nil)
            _ = "raw write to fd 1\n".withCString { write(1, $0, strlen($0)) }
            _ = "raw write to fd 2\n".withCString { write(2, $0, strlen($0)) }
        case .wrongID:
            channel.send(.embeddings(EmbedResult(dimension: 1, values: [42], tokenCounts: [1], truncated: [false])), requestID: requestID &- 1)
        case .lateAnswer:
            if let (id, result) = lastEmbedAnswer { channel.send(.embeddings(result), requestID: id) }
        case .deaf:
            while true { sleep(60) }
        }
    }
}
