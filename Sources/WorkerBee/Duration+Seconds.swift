extension Duration {
    /// The duration in seconds, as a `Double` (for rates, logs and JSON). Visible to the
    /// package's own modules (the CLI, the server, the tests), not to its users.
    package var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
