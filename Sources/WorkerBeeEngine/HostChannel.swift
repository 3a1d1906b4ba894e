import CWorkerBeeSystem
import Foundation
import Synchronization
import WorkerBeeWire

/// The worker's end of the protocol, to its host: the descriptors it took over from fd 0 and
/// fd 1 before anything native could write to them. Writes are serialised; a write to a host
/// that has gone ends the process.
final class HostChannel: Sendable {
    let input: Int32
    let output: Int32
    private let writeLock = Mutex(())

    init(input: Int32, output: Int32) {
        self.input = input
        self.output = output
    }

    /// Sends a response frame; exits the process if the host is gone.
    func send(_ response: WorkerResponse, requestID: UInt64) {
        writeRaw(response.frame(requestID: requestID).encoded())
    }

    /// Writes bytes as they are (fault injection uses this for broken frames).
    func writeRaw(_ bytes: [UInt8]) {
        writeLock.withLock { _ in writeAll(bytes) }
    }

    private func writeAll(_ bytes: [UInt8]) {
        if bytes.withUnsafeBytes({ wb_write_all(output, $0.baseAddress, $0.count) }) != 0 {
            _exit(0)  // EPIPE: the host is gone
        }
    }

    /// Reads frames until end of input, calling `handle` for each; returns at EOF.
    /// - Returns: an error for a protocol violation, nil for a clean end of input.
    func readFrames(_ handle: (Frame) -> Void) -> WireError? {
        var decoder = FrameDecoder()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { wb_read_retrying(input, $0.baseAddress, $0.count) }
            if count < 0 { return nil }
            if count == 0 {
                do { try decoder.finish() } catch { return error }
                return nil
            }
            decoder.append(buffer[0..<count])
            do {
                while let frame = try decoder.next() { handle(frame) }
            } catch {
                return error
            }
        }
    }
}
