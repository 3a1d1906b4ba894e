import Foundation

/// The receiving end of a systemd-style notify socket: a Unix datagram socket at `path`, whose
/// messages (`READY=1`, ...) a test awaits as events. Each wait blocks a thread of its own, never
/// a cooperative one, and gives up after 10 minutes (nil).
public final class NotifySocket: Sendable {
    /// The socket's path, for `$NOTIFY_SOCKET`.
    public let path: String
    private let fd: Int32

    /// Binds a datagram socket at `path` (removing what was there).
    public init(path: String) throws {
        self.path = path
        unlink(path)
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var timeout = timeval(tv_sec: 600, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else {
            close(fd)
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// The next message, or nil if none came in time.
    public func next() async -> String? {
        await withCheckedContinuation { continuation in
            let thread = Thread { [self] in
                var buffer = [UInt8](repeating: 0, count: 4096)
                let count = recv(fd, &buffer, buffer.count, 0)
                continuation.resume(returning: count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : nil)
            }
            thread.start()
        }
    }
}
