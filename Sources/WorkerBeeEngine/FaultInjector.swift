import Foundation

/// Test-only fault injection for the worker, driven by environment variables that a release host
/// never sets:
///
/// - `WORKERBEE_FAULT=<point>:<action>` where `<point>` is `start`, `embed`, `embed#N` (the N-th
///   embed request of this worker process), `embed-text=T` (an embed request containing the text
///   T), `load`, `vision`, `recognize` (a Tesseract request) or `recognize-bytes=N` (a Tesseract
///   request for an image of exactly N bytes, for a page that fails every time), and `<action>`
///   is one of
///   `segv` (crash with SIGSEGV), `abort` (call abort()), `sigill` (die of SIGILL, as code built
///   for another CPU does), `exit` (exit status 3), `hang` (stop
///   answering; cancels are not honoured), `slow=S` (sleep S seconds in a cancellable way, then
///   answer), `exit-mid-frame` (write half a frame, then exit), `garbage` (write bytes that are
///   not a frame), `stdout-noise` (print to fd 1 and 2 like native code does, then answer),
///   `wrong-id` (first answer with a stale request id, then correctly), `late-answer` (first
///   send the previous embed request's real answer again under its own id, as a late answer
///   would arrive, then answer correctly), `deaf` (at `start`: say hello, then never read a
///   request, as a worker stuck in native code outside its request loop, so the host's writes
///   fill the pipe and block).
/// - `WORKERBEE_FAULT_ONCE=<path>`: fire only if `<path>` does not exist, and create it when
///   firing, so a fault happens once across restarts.
struct FaultInjector {
    enum Action: Equatable {
        case segv, abort, sigill, exit, hang, slow(Double), exitMidFrame, garbage, stdoutNoise, wrongID, lateAnswer, deaf
    }

    private let point: String
    private let action: Action?
    private let oncePath: String?
    private var embedCount = 0

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let spec = environment["WORKERBEE_FAULT"] ?? ""
        let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
        point = parts.first ?? ""
        oncePath = environment["WORKERBEE_FAULT_ONCE"]
        guard parts.count == 2 else {
            action = nil
            return
        }
        switch parts[1] {
        case "segv": action = .segv
        case "abort": action = .abort
        case "sigill": action = .sigill
        case "exit": action = .exit
        case "hang": action = .hang
        case "exit-mid-frame": action = .exitMidFrame
        case "garbage": action = .garbage
        case "stdout-noise": action = .stdoutNoise
        case "wrong-id": action = .wrongID
        case "late-answer": action = .lateAnswer
        case "deaf": action = .deaf
        case let other where other.hasPrefix("slow="): action = Double(other.dropFirst(5)).map(Action.slow)
        default: action = nil
        }
    }

    /// The action to take at `point` now, if any (consumes a one-shot fault).
    mutating func fire(at point: String, texts: [String] = [], bytes: Int? = nil) -> Action? {
        var matches = self.point == point
        if point == "recognize", let bytes { matches = matches || self.point == "recognize-bytes=\(bytes)" }
        if point == "embed" {
            embedCount += 1
            matches = matches || self.point == "embed#\(embedCount)"
            if self.point.hasPrefix("embed-text=") { matches = matches || texts.contains(String(self.point.dropFirst(11))) }
        }
        guard matches, let action else { return nil }
        if let oncePath {
            let fd = open(oncePath, O_CREAT | O_EXCL | O_WRONLY, 0o644)
            if fd < 0 { return nil }
            close(fd)
        }
        return action
    }
}
