import WorkerBee

extension WorkerEvent {
    /// Whether this is a request sent with `items` texts (any request when nil).
    public func isSent(items: Int? = nil) -> Bool {
        if case .sent(_, _, let count) = self { return items == nil || items == count }
        return false
    }

    /// Whether this is a request of the kind `label` names (`embed`, `Tesseract OCR`, ...).
    public func isSent(label: String) -> Bool {
        if case .sent(_, let sent, _) = self { return sent == label }
        return false
    }

    /// Whether this is an answer.
    public var isAnswered: Bool {
        if case .answered = self { return true }
        return false
    }

    /// Whether a caller was queued.
    public var isQueued: Bool {
        if case .queued = self { return true }
        return false
    }

    /// Whether lost texts are sent again.
    public var isRetrying: Bool {
        if case .retrying = self { return true }
        return false
    }

    /// Whether a worker was lost with `code` (any code when nil).
    public func isLost(_ code: FailureCode? = nil) -> Bool {
        if case .lost(_, _, let lost) = self { return code == nil || code == lost }
        return false
    }
}

extension AsyncStream<WorkerEvent>.Iterator {
    /// Waits for the next event that matches `predicate`, skipping others; nil if the stream ends.
    public mutating func next(where predicate: (WorkerEvent) -> Bool) async -> WorkerEvent? {
        while let event = await next() {
            if predicate(event) { return event }
        }
        return nil
    }
}
