import ServiceLifecycle

extension ModelPools: Service {
    /// Owns the loaded models for the life of the calling task, as a swift-service-lifecycle
    /// `Service`: waits for graceful shutdown or cancellation, then unloads them all.
    public func run() async throws {
        try? await gracefulShutdown()
        await stop()
    }
}
