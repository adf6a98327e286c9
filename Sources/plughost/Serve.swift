import ArgumentParser
import Logging
import PluginRuntime
import ServiceLifecycle
import UnixSignals

/// `plughost serve`: start the host and run until SIGTERM or SIGINT.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start the host: load plugins, fire the lifecycle events, run until SIGTERM/SIGINT, then shut down cleanly.")

    @OptionGroup var options: HostOptions

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
        let runtime = PluginRuntime(pluginsDirectory: options.plugins, config: try options.hostConfig(), logger: logger)
        let group = ServiceGroup(
            services: [PluginHostService(runtime: runtime, strict: strict)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        try await group.run()
    }
}
