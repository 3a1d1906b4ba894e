import HTTPTypes
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Cancels the work of a request whose client hangs up before its answer is ready.
///
/// Hummingbird keeps running a request's handler after its client has gone; for an embedding
/// request that would leave the request's texts in the queue, to be embedded for nobody. Each
/// connection gets a ``Handler`` in its channel pipeline that sees the client's side close (the
/// end of input, or the connection dropped) and cancels the work registered for that connection.
/// A client that half-closes its side while it waits for the answer is taken to have gone too,
/// as Go's `net/http` does; HTTP clients do not do that in practice.
final class HangUpDetector: Sendable {
    private struct Connection {
        var hungUp = false
        /// Cancels the request being answered: HTTP/1 answers a connection's requests one at a time.
        var onHangUp: (@Sendable () -> Void)?
    }

    private let connections = Mutex<[ObjectIdentifier: Connection]>([:])

    /// A new pipeline handler for one connection. Every connection whose requests use
    /// ``cancellingOnHangUp(_:_:)`` must have one: a connection without is taken as closed.
    func makeHandler() -> Handler { Handler(detector: self) }

    /// Runs `operation`, cancelling it if the client of `channel` hangs up before it ends.
    /// - Throws: an ``APIError`` with status 499 (nginx's "client closed request", for the access
    ///   log and the metrics: nobody reads it) when the client hung up, otherwise what
    ///   `operation` throws.
    func cancellingOnHangUp<Value: Sendable>(_ channel: any Channel, _ operation: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let work = Task { try await operation() }
        let id = ObjectIdentifier(channel)
        let alreadyGone = connections.withLock { connections -> Bool in
            // No entry: the connection has closed already (its handler was removed; the channel
            // object is alive, held by the request, so its identifier is not reused).
            guard connections[id] != nil else { return true }
            if connections[id]!.hungUp { return true }
            connections[id]!.onHangUp = { work.cancel() }
            return false
        }
        if alreadyGone { work.cancel() }
        defer { connections.withLock { $0[id]?.onHangUp = nil } }
        do {
            return try await withTaskCancellationHandler { try await work.value } onCancel: { work.cancel() }
        } catch {
            // The work was cancelled, but not from above: its client hung up.
            if work.isCancelled && !Task.isCancelled {
                throw APIError(Self.clientClosedRequest, "the client closed the connection before the answer was ready", code: "client_closed_request")
            }
            throw error
        }
    }

    fileprivate func opened(_ id: ObjectIdentifier) {
        connections.withLock { $0[id] = Connection() }
    }

    fileprivate func hungUp(_ id: ObjectIdentifier) {
        let cancel = connections.withLock { connections -> (@Sendable () -> Void)? in
            guard connections[id] != nil, !connections[id]!.hungUp else { return nil }
            connections[id]!.hungUp = true
            return connections[id]!.onHangUp
        }
        cancel?()
    }

    fileprivate func closed(_ id: ObjectIdentifier) {
        hungUp(id)
        _ = connections.withLock { $0.removeValue(forKey: id) }
    }

    /// The status logged for a request whose client went away (nginx's 499).
    static let clientClosedRequest = HTTPResponse.Status(code: 499, reasonPhrase: "Client Closed Request")

    /// Watches one connection: the end of the client's input, or the connection closing.
    final class Handler: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPRequestPart
        typealias InboundOut = HTTPRequestPart

        private let detector: HangUpDetector

        fileprivate init(detector: HangUpDetector) {
            self.detector = detector
        }

        func handlerAdded(context: ChannelHandlerContext) {
            detector.opened(ObjectIdentifier(context.channel))
        }

        func handlerRemoved(context: ChannelHandlerContext) {
            detector.closed(ObjectIdentifier(context.channel))
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.fireChannelRead(data)
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let event = event as? ChannelEvent, event == .inputClosed {
                detector.hungUp(ObjectIdentifier(context.channel))
            }
            context.fireUserInboundEventTriggered(event)
        }

        func channelInactive(context: ChannelHandlerContext) {
            detector.hungUp(ObjectIdentifier(context.channel))
            context.fireChannelInactive()
        }
    }
}
