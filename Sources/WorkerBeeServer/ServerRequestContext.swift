import Hummingbird
import NIOCore

/// The request context of `workerbee serve`'s routes: Hummingbird's basics plus the connection
/// the request came on, so that a handler can tell when its client hangs up (``HangUpDetector``).
struct ServerRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The connection the request arrived on.
    let channel: any Channel
    /// The request's id (`X-Request-Id`), once ``AccessMiddleware`` has given it one.
    var requestID = ""

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}
