import Foundation
import WorkerBeeModels
import WorkerBeeWire

extension WorkerProcess {
    /// A loss in one line: the native reason first (ggml's `file:line: message`), then what
    /// happened; and for SIGILL, what to do about it.
    func lossMessage(_ what: String, status: ExitStatus, tail: String) -> String {
        Self.lossMessage(what, status: status, tail: tail, memoryLimit: configuration.engine.memoryLimit)
    }

    static func lossMessage(_ what: String, status: ExitStatus, tail: String, memoryLimit: Int?) -> String {
        var text = ModelLoadMarker.nativeReason(in: tail).map { "\($0): " } ?? ""
        text += what
        if let limit = memoryLimit, case .signaled(let signal) = status, signal == SIGABRT || signal == SIGSEGV || signal == SIGKILL {
            text += " (the worker's memory limit is \(limit / 1_048_576) MiB; an allocation that did not fit ends a worker like this)"
        }
        if status == .signaled(SIGILL) {
            text += "; an illegal instruction usually means llama.cpp was built for another CPU (a copied WorkerBee home, a moved VM): rebuild it with `rm -rf \(ModelDirectory.home.path)/llama && scripts/bootstrap`"
        }
        return text
    }
}
