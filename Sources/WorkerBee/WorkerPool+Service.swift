import Logging
import ServiceLifecycle

extension WorkerPool: Service {
    /// Owns the workers for the life of the calling task, as a swift-service-lifecycle
    /// `Service`: starts them (a worker that cannot start now is started again by the first
    /// request), waits for graceful shutdown or cancellation, then stops them all.
    ///
    /// ```swift
    /// let pool = WorkerPool()
    /// let group = ServiceGroup(services: [pool], gracefulShutdownSignals: [.sigterm], logger: logger)
    /// try await group.run()
    /// ```
    public func run() async throws {
        do {
            try await start()
        } catch {
            Logger(label: "workerbee.worker-pool").warning("workers did not start: \(error); requests will start them again")
        }
        try? await gracefulShutdown()
        await stop()
    }
}
