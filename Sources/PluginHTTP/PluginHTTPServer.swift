public import Hummingbird
public import Logging
public import PluginRuntime
import PluginHTTPExtension
import NIOCore

/// Builds the Hummingbird application that serves a ``PluginRuntime``.
public enum PluginHTTPServer {
    /// An application serving `runtime` on `host`:`port` (0 picks a free port).
    /// - Parameters:
    ///   - reloader: Serves `POST /_plughost/reload` (loopback clients only) when given.
    ///   - maxBodyBytes: Largest request body accepted (413 above it).
    ///   - headerTimeout: A connection waiting longer than this for a request's complete headers is closed.
    ///   - onServerRunning: Called with the bound port once the server listens.
    public static func makeApplication(
        runtime: PluginRuntime, reloader: ReloadScheduler? = nil, host: String = "127.0.0.1", port: Int = 8080,
        maxBodyBytes: Int = 1 << 20, headerTimeout: Duration = .seconds(10),
        logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> Application<PluginResponder> {
        Application(
            responder: PluginResponder(runtime: runtime, reloader: reloader, maxBodyBytes: maxBodyBytes),
            server: .http1(configuration: .init(additionalChannelHandlers: [
                HeaderTimeoutHandler(timeout: TimeAmount(headerTimeout)), ConnectionEventsHandler(runtime: runtime),
            ])),
            configuration: .init(address: .hostname(host, port: port), serverName: "plughost"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }
}
