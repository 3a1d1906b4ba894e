/// Where a pull from the Hub says what it does: one line of news at a time (a file already in
/// the cache, a finished download, a wait for another pull), and the bytes of each download as
/// they arrive. The command line writes both to standard error; a library caller may log them or
/// ignore them.
package struct HubProgress: Sendable {
    /// Takes one line of news.
    package var note: @Sendable (String) -> Void
    /// Starts a meter for a download of `total` bytes; the meter is called with the bytes so far
    /// as they arrive and with nil when the download ends (finished or not).
    package var meter: @Sendable (_ total: Int) -> (Int?) -> Void

    /// Creates a reporter from its two parts.
    package init(note: @escaping @Sendable (String) -> Void, meter: @escaping @Sendable (_ total: Int) -> (Int?) -> Void) {
        self.note = note
        self.meter = meter
    }

    /// Says nothing.
    package static let silent = HubProgress(note: { _ in }, meter: { _ in { _ in } })
}
