import Foundation

/// Tells a supervisor how `workerbee serve` is doing, the way systemd's `Type=notify` services
/// do (`sd_notify`): a datagram such as `READY=1` to the Unix socket named by `$NOTIFY_SOCKET`.
/// Without that variable it does nothing. A test waits for `READY=1` instead of polling `/ready`.
struct ServiceNotifier: Sendable {
    /// The socket path, or nil when no supervisor asked.
    let path: String?

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        path = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty || $0.hasPrefix("@") ? nil : $0 }
    }

    /// Sends `state` (e.g. `READY=1`, `STOPPING=1`); failures are ignored, as sd_notify's are.
    func send(_ state: String) {
        guard let path else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else { return }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8) + [0])
        }
        let bytes = Array(state.utf8)
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
    }
}
