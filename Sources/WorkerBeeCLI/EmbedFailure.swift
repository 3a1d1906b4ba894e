/// `workerbee embed` could not finish.
struct EmbedFailure: Error, CustomStringConvertible {
    /// Lines written (all complete).
    let written: Int
    /// Texts in the input, when known.
    let total: Int?
    /// What stopped it.
    let underlying: any Error

    var description: String {
        "embedding stopped after \(written)\(total.map { " of \($0)" } ?? "") texts (those lines are complete): \(underlying)"
    }
}
