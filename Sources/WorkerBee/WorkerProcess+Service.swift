import ServiceLifecycle

extension WorkerProcess: Service {
    /// Owns the worker for the life of the calling task, as a swift-service-lifecycle `Service`:
    /// the worker starts lazily with the first request as usual, and is stopped when graceful
    /// shutdown is triggered or the task is cancelled. This is what gives a worker a bounded
    /// lifetime on platforms without a parent-death signal (macOS).
    public func run() async throws {
        try? await gracefulShutdown()
        await stop()
    }
}
