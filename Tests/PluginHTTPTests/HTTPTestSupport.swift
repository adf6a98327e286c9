import Hummingbird
import HummingbirdTesting
import Logging
import PluginHTTP
import PluginRuntime
import PluginHTTPExtension
import PluginTestSupport

/// Starts a runtime over `folder` and a live server on an ephemeral loopback port, runs `body`, stops both.
func withServer(
    _ folder: PluginFolder, _ config: HostConfig, maxBodyBytes: Int = 1 << 20,
    _ body: @Sendable (any TestClientProtocol, PluginRuntime) async throws -> Void
) async throws {
    var logger = Logger(label: "plughost-test")
    logger.logLevel = .critical
    let runtime = PluginRuntime(pluginsDirectory: folder.path, config: config, servesHTTP: true, logger: logger)
    try runtime.start()
    defer { runtime.shutdown() }
    // The test client may open its connection long before its first request when the
    // whole suite runs in parallel on 2 cores: no header timeout here (slow headers are
    // tested against `plughost serve` with a short one).
    let application = PluginHTTPServer.makeApplication(runtime: runtime, host: "127.0.0.1", port: 0, maxBodyBytes: maxBodyBytes,
                                                       headerTimeout: .seconds(3600), logger: logger)
    try await application.test(.live) { client in try await body(client, runtime) }
}

extension TestResponse {
    /// The body as text.
    var text: String { String(buffer: body) }
}
