import ArgumentParser
import Foundation
import WorkerBee
import WorkerBeeEngine
import WorkerBeeWire

extension Duration {
    var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}
