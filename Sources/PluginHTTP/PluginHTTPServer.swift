public import Hummingbird
import HummingbirdCore
public import Logging
public import PluginRuntime
public import PluginHTTPExtension
import NIOCore

/// Builds the Hummingbird application that serves a ``PluginRuntime``.
public enum PluginHTTPServer {
    /// An application serving `runtime` on `host`:`port` (0 picks a free port).
    /// - Parameters:
    ///   - reloader: Serves `POST /_plughost/reload` (loopback clients only) when given.
    ///   - maxBodyBytes: Largest request body accepted (413 above it).
    ///   - headerTimeout: A connection waiting longer than this for a request's complete headers is closed.
    ///   - calls: Where plugin work that may block runs (see ``PluginCallPool``); nil runs it on the serving threads.
    ///   - metrics: Counts requests and serves `GET /_plughost/metrics` (nil: neither).
    ///   - readiness: Whether the plugins have started, for a server that listens while they start (nil: started before).
    ///   - onServerRunning: Called with the bound port once the server listens.
    public static func makeApplication(
        runtime: PluginRuntime, reloader: (any HostControl)? = nil, host: String = "127.0.0.1", port: Int = 8080,
        maxBodyBytes: Int = 1 << 20, headerTimeout: Duration = .seconds(10), calls: PluginCallPool? = nil,
        metrics: HostMetrics? = nil, readiness: HostReadiness? = nil,
        logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> Application<PluginResponder> {
        let responder = PluginResponder(runtime: runtime, reloader: reloader, maxBodyBytes: maxBodyBytes, calls: calls,
                                        metrics: metrics, readiness: readiness)
        let handlers = connectionHandlers(responder: responder, headerTimeout: headerTimeout)
        return Application(
            responder: responder,
            server: HTTPServerBuilder { hummingbird in PluginHTTPChannel(responder: hummingbird, handlers: handlers) },
            configuration: .init(address: .hostname(host, port: port), serverName: "plughost"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            eventLoopGroupProvider: .shared(ServingEventLoops.shared),
            logger: logger)
    }

    /// A server serving `runtime` on the inherited listening socket `socket` (a worker's; see ``InheritedSocketServer``),
    /// with the same responder and connection handling as ``makeApplication(runtime:reloader:host:port:maxBodyBytes:headerTimeout:calls:logger:onServerRunning:)``.
    public static func makeInheritedSocketServer(
        runtime: PluginRuntime, reloader: (any HostControl)? = nil, socket: Int32, healthSocket: Int32? = nil, maxBodyBytes: Int = 1 << 20,
        headerTimeout: Duration = .seconds(10), calls: PluginCallPool? = nil, metrics: HostMetrics? = nil,
        readiness: HostReadiness? = nil, logger: Logger,
        onServerRunning: @escaping @Sendable () async -> Void = {},
        onListening: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void = { _ in }
    ) -> InheritedSocketServer {
        let responder = PluginResponder(runtime: runtime, reloader: reloader, maxBodyBytes: maxBodyBytes, calls: calls,
                                        metrics: metrics, readiness: readiness)
        return InheritedSocketServer(
            socket: socket, healthSocket: healthSocket, responder: responder,
            handlers: connectionHandlers(responder: responder, headerTimeout: headerTimeout),
            logger: logger, onServerRunning: onServerRunning, onListening: onListening)
    }

    /// This process's own `/_plughost/plugins` listing (a JSON object): a worker's part of the host's.
    public static func listing(runtime: PluginRuntime) -> String {
        AdminEndpoints.pluginsJSON(runtime)
    }

    /// Each connection's handlers: the connection events, and the handler that serves
    /// plugin requests on the event loop (and keeps the header timeout).
    private static func connectionHandlers(responder: PluginResponder, headerTimeout: Duration) -> @Sendable () -> [any ChannelHandler] {
        { [
            ConnectionEventsHandler(runtime: responder.runtime, calls: responder.calls),
            RequestServingHandler(responder: responder, serverName: "plughost", headerTimeout: TimeAmount(headerTimeout)),
        ] }
    }
}
