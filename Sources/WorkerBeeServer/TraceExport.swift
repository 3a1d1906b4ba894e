import Foundation
import Logging
import OTel
import ServiceLifecycle
import Tracing

/// Where `workerbee serve` sends its spans: an OpenTelemetry collector's OTLP/HTTP endpoint
/// (protobuf encoding), through swift-otel.
///
/// The server makes its own tracer from this and gives it to its requests; it does not bootstrap
/// the process-wide `InstrumentationSystem`, so an app that embeds the server keeps its own
/// choice there, and several servers in one process (as in tests) each export to their own
/// endpoint. The exporter runs as one of the server's services and sends what it holds when the
/// server shuts down gracefully. swift-otel's `OTEL_*` environment variables (for example
/// `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`,
/// `OTEL_EXPORTER_OTLP_HEADERS`) apply on top, and take precedence, as swift-otel documents.
public struct TraceExport: Sendable {
    /// The collector: a base URL such as `http://127.0.0.1:4318`, to whose `/v1/traces` spans are
    /// posted, or a URL with a path, used as it is.
    public var endpoint: String
    /// The `service.name` resource attribute the spans carry (default `workerbee`).
    public var serviceName: String

    /// Export to `endpoint` (see ``endpoint``) as `serviceName`.
    public init(endpoint: String, serviceName: String = "workerbee") {
        self.endpoint = endpoint
        self.serviceName = serviceName
    }

    /// The URL spans are posted to: the endpoint with `/v1/traces` when it has no path.
    public var tracesURL: String {
        guard let url = URL(string: endpoint), url.path.isEmpty || url.path == "/" else { return endpoint }
        return (endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint) + "/v1/traces"
    }

    /// Why `endpoint` cannot be exported to, or nil when it can: it must be an `http` or `https`
    /// URL with a host.
    public var problem: String? {
        guard let url = URL(string: endpoint), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else { return "the OTLP endpoint must be an http:// or https:// URL with a host, such as http://127.0.0.1:4318; got \(endpoint)" }
        return nil
    }

    /// A tracer whose spans go to the collector, and the service that exports them (run it in the
    /// server's service group, first, so that it stops last and sends the spans of the requests
    /// that drained).
    /// - Parameter logger: where the exporter reports failures (an unreachable collector).
    /// - Throws: when swift-otel refuses the configuration (say, `OTEL_TRACES_EXPORTER=none` in
    ///   the environment). Check ``problem`` first.
    func makeBackend(logger: Logger) throws -> (tracer: any Tracer, service: any Service) {
        var configuration = OTel.Configuration.default
        configuration.serviceName = serviceName
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.enabled = true
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.endpoint = tracesURL
        configuration.traces.otlpExporter.protocol = .httpProtobuf
        // W3C `traceparent`/`tracestate` only: what the request middleware reads.
        configuration.propagators = [.traceContext]
        configuration.diagnosticLogger = .custom(logger)
        configuration.diagnosticLogLevel = .warning
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        return (backend.factory, backend.service)
    }
}
