import Foundation

extension EmbedCommand {
    /// A piece's outcome: per text, its vector or why its server could not embed it.
    typealias PieceResult = [Result<[Float], EmbeddingServerError>]

    /// Embeds the items after `skip` on `servers`: pieces of `--batch-size` texts, `--in-flight`
    /// of them (default two per server) at once, each sent again to another server if its server fails it, written in input order
    /// as they complete (so memory holds only the pieces in flight and those done ahead of order).
    func embedOnServers(
        _ items: InputItems, skip: Int, servers: EmbeddingServers, output: inout EmbeddingOutput, written: inout Int, failed: inout Int, meter: ProgressMeter
    ) async throws {
        let window = target.pieces
        var iterator = items.dropFirst(skip).makeAsyncIterator()
        let batchSize = batchSize
        try await withThrowingTaskGroup(of: (Int, [TextInput.Item], PieceResult).self) { group in
            var dispatched = 0, done = 0, exhausted = false
            var finished: [Int: ([TextInput.Item], PieceResult)] = [:]
            repeat {
                while !exhausted && dispatched - done < window {
                    var piece: [TextInput.Item] = []
                    while piece.count < batchSize, let item = try await iterator.next() { piece.append(item) }
                    if piece.isEmpty {
                        exhausted = true
                        break
                    }
                    let id = dispatched
                    dispatched += 1
                    group.addTask { [piece] in (id, piece, try await Self.embed(piece.map(\.text), on: servers)) }
                }
                guard let (id, piece, results) = try await group.next() else { break }
                finished[id] = (piece, results)
                while let (piece, results) = finished.removeValue(forKey: done) {
                    for (item, result) in zip(piece, results) {
                        switch result {
                        case .success(let vector):
                            output.write(index: written, fields: item.fields, vector: vector)
                        case .failure(let error):
                            guard onError == .skip else {
                                throw EmbeddingServerError(.textFailed, "text \(written) could not be embedded: \(error.message) (--on-error skip writes an error line for it and goes on)")
                            }
                            output.write(index: written, fields: item.fields, error: error.message)
                            failed += 1
                        }
                        written += 1
                    }
                    done += 1
                    meter.update(done: written)
                }
            } while !exhausted || done < dispatched
        }
    }

    /// The vectors of `texts`; when a server answers 500 (a text crashed its worker every time),
    /// the piece is halved until the texts that fail are alone, and only those fail.
    static func embed(_ texts: [String], on servers: EmbeddingServers) async throws -> PieceResult {
        do {
            return try await servers.embed(texts).map { .success($0) }
        } catch let error as EmbeddingServerError where error.code == .textFailed {
            guard texts.count > 1 else { return [.failure(error)] }
            let half = texts.count / 2
            async let first = embed(Array(texts[..<half]), on: servers)
            let second = try await embed(Array(texts[half...]), on: servers)
            return try await first + second
        }
    }
}
