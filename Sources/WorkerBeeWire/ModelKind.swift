import BinaryCoding

/// The two kinds of model a worker holds.
public enum ModelKind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case embedding = 0
    case vision = 1

    public var description: String { self == .embedding ? "embedding" : "vision" }
}
