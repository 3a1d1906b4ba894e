import ArgumentParser
import Foundation
import WorkerBee
import WorkerBeeEngine
import WorkerBeeWire

/// `workerbee embed` could not finish.
struct EmbedFailure: Error, CustomStringConvertible {
    let written: Int
    let total: Int
    let underlying: Error
    var description: String {
        "embedding stopped after \(written) of \(total) texts (those lines are complete): \(underlying)"
    }
}
