import Foundation
import WorkerBeeWire

/// The bookkeeping of one pool embed call: which texts are still to send, which came back, and
/// which crash the worker.
///
/// New pieces are cut from the front of the texts, at most `sliceTexts` (and within the request
/// limit). A piece whose worker was lost is split in halves and sent again, and new pieces are
/// cut smaller (halved on each loss, doubled back after each success), so a job makes progress
/// even when workers die more often than a full piece takes, and a text that crashes the worker
/// is cornered in about log2(n) losses; a single text lost twice is declared poison and
/// reported, and every other text still gets its vector. This state belongs to the one call:
/// another call's losses never change how this one is cut.
struct EmbedJob {
    /// A contiguous run of texts to send, and how many workers it has lost so far: by a crash
    /// of the worker's own (or a timeout), and by a SIGKILL from outside (a person, the OOM
    /// killer), which says little about the text and so takes many more to condemn it.
    struct Piece: Sendable {
        let range: Range<Int>
        let losses: Int
        var killedFromOutside = 0
    }

    /// SIGKILLs from outside after which a single text is declared poison anyway (a text that
    /// makes the worker run out of memory draws the OOM killer every time).
    static let outsideKillsForPoison = 8

    let texts: [String]
    /// Bytes each text counts for besides its own.
    let extraBytes: Int
    let limit: EmbedRequestLimit
    private var cursor = 0
    private var again: [Piece] = []
    private var done: [(range: Range<Int>, result: EmbedResult)] = []
    private(set) var failures: [(index: Int, error: WorkerError)] = []
    /// Most texts in a new piece.
    private(set) var sliceTexts: Int

    /// A job over `texts` whose first pieces hold at most `firstSlice` texts (one piece per
    /// worker for a small call).
    /// `extraBytes` is what each text counts for besides its own bytes (a rerank pair's query).
    init(texts: [String], limit: EmbedRequestLimit, firstSlice: Int? = nil, extraBytes: Int = 0) {
        self.texts = texts
        self.limit = limit
        self.extraBytes = extraBytes
        sliceTexts = max(1, min(firstSlice ?? limit.texts, limit.texts))
    }

    /// The next piece to send; nil when nothing is left to send.
    mutating func next() -> Piece? {
        if !again.isEmpty { return again.removeFirst() }
        guard cursor < texts.count else { return nil }
        let start = cursor
        var bytes = 0
        while cursor < texts.count {
            let cost = EmbedRequestLimit.cost(of: texts[cursor]) + extraBytes
            guard cursor == start || (cursor - start < min(sliceTexts, limit.texts) && bytes + cost <= limit.bytes) else { break }
            bytes += cost
            cursor += 1
        }
        return Piece(range: start..<cursor, losses: 0)
    }

    /// Records a piece's vectors.
    mutating func finished(_ piece: Piece, _ result: EmbedResult) {
        done.append((piece.range, result))
        sliceTexts = min(limit.texts, sliceTexts * 2)
    }

    /// Records that `piece` lost its worker with `error`: split it in halves and send them again;
    /// a single text is sent once more, as the first request of a fresh worker, and declared
    /// poison if it is lost again.
    /// - Returns: whether its texts are sent again (false: the text was declared poison).
    @discardableResult
    mutating func lost(_ piece: Piece, _ error: WorkerError) -> Bool {
        sliceTexts = max(1, min(sliceTexts, piece.range.count) / 2)
        if piece.range.count > 1 {
            let middle = piece.range.lowerBound + piece.range.count / 2
            again.append(Piece(range: piece.range.lowerBound..<middle, losses: 0))
            again.append(Piece(range: middle..<piece.range.upperBound, losses: 0))
        } else if error.code == .crashed, error.exitStatus == .signaled(SIGKILL), piece.killedFromOutside + 1 < Self.outsideKillsForPoison {
            again.append(Piece(range: piece.range, losses: piece.losses, killedFromOutside: piece.killedFromOutside + 1))
        } else if piece.losses == 0 {
            again.append(Piece(range: piece.range, losses: 1, killedFromOutside: piece.killedFromOutside))
        } else {
            let index = piece.range.lowerBound
            failures.append((index, WorkerError(
                .poisonInput, "it crashes the worker every time: \(error.message)", exitStatus: error.exitStatus, logTail: error.logTail)))
            return false
        }
        return true
    }

    /// Whether every text has come back or failed.
    var isComplete: Bool {
        cursor == texts.count && again.isEmpty
            && done.reduce(0, { $0 + $1.range.count }) + failures.count == texts.count
    }

    /// The vectors in input order, zeros for failed texts.
    func result(dimension fallback: Int) -> EmbedResult {
        let dimension = done.first?.result.dimension ?? fallback
        var result = EmbedResult.empty(dimension: dimension)
        result.reserveCapacity(texts.count, dimension: dimension)
        let pieces = done.sorted { $0.range.lowerBound < $1.range.lowerBound }
        let failed = failures.map(\.index).sorted()
        var nextPiece = 0
        var nextFailure = 0
        var index = 0
        while index < texts.count {
            if nextPiece < pieces.count && pieces[nextPiece].range.lowerBound == index {
                result.append(pieces[nextPiece].result)
                index = pieces[nextPiece].range.upperBound
                nextPiece += 1
            } else if nextFailure < failed.count && failed[nextFailure] == index {
                result.append(EmbedResult(dimension: dimension, values: [Float](repeating: 0, count: dimension), tokenCounts: [0], truncated: [false]))
                nextFailure += 1
                index += 1
            } else {
                break  // not complete; callers check isComplete first
            }
        }
        return result
    }
}
