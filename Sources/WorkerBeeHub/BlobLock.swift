import Foundation

/// An exclusive `flock` on a lock file, the kind `huggingface_hub` takes under the cache's
/// `.locks/` folder, so two pulls of one file (in any process) never write it at once. Waiting is
/// a retry every 100 ms, not a blocked thread.
package struct BlobLock {
    private let descriptor: Int32

    /// Takes the lock at `file`, creating it, waiting while another process holds it.
    package static func acquire(progress: HubProgress = .silent, _ file: URL) async throws -> BlobLock {
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        let descriptor = open(file.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw HubError(.server, "cannot open the lock file \(file.path): \(String(cString: strerror(errno)))") }
        var announced = false
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                close(descriptor)
                throw HubError(.server, "cannot lock \(file.path): \(String(cString: strerror(errno)))")
            }
            if !announced {
                progress.note("waiting for another pull of the same file (\(file.lastPathComponent))")
                announced = true
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return BlobLock(descriptor: descriptor)
    }

    /// Lets the next waiter in.
    package func release() {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
