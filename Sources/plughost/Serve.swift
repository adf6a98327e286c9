import ArgumentParser
import Hummingbird
import Logging
import PluginHTTP
import PluginRuntime
import ServiceLifecycle
import UnixSignals

/// `plughost serve`: start the host and serve HTTP until SIGTERM or SIGINT.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start the host: load plugins, fire the lifecycle events, serve HTTP until SIGTERM/SIGINT, then drain and shut down.")

    @OptionGroup var options: HostOptions

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free one).")
    var port = 8080

    @Option(help: "Largest request body in bytes; larger ones are answered 413.")
    var maxBody = 1 << 20

    @Flag(help: "Refuse to start if any plugin or file fails, instead of starting the rest.")
    var strict = false

    @Option(help: "Log level: trace, debug, info, warning, error.")
    var logLevel: String = "info"

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else { throw ValidationError("unknown log level '\(logLevel)'") }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "plughost")
        let runtime = PluginRuntime(pluginsDirectory: options.plugins, config: try options.hostConfig(), servesHTTP: true, logger: logger)
        var application = PluginHTTPServer.makeApplication(
            runtime: runtime, host: host, port: port, maxBodyBytes: maxBody, logger: logger,
            onServerRunning: { port in logger.info("serving HTTP on \(host):\(port)") })
        // Plugins start once the service group handles signals and before the port opens,
        // so no request finds the host without plugins and an early SIGTERM still shuts down cleanly.
        let strict = self.strict
        application.beforeServerStarts {
            do {
                try runtime.start(strict: strict)
            } catch {
                logger.critical("not starting (--strict):\n\(error)")
                throw error
            }
        }
        // Shutdown runs in reverse order: the server drains in-flight requests first,
        // then the runtime fires the shutdown events and stops the plugins.
        let group = ServiceGroup(
            services: [PluginHostService(runtime: runtime), application],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        try await group.run()
    }
}
