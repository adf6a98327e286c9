#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Hummingbird
import Logging
import PluginHTTP
import PluginRuntime
import PluginHTTPExtension
import ServiceLifecycle
import UnixSignals

/// `plughost serve`: start the host, serve HTTP and reload on SIGHUP until SIGTERM or SIGINT.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start the host: load plugins, fire the lifecycle events, serve HTTP, reload on SIGHUP, and on SIGTERM/SIGINT drain and shut down.")

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

    @Option(help: "Write the host's pid here (and each reload's outcome to <pid-file>.reload) for `plughost reload`.")
    var pidFile = "plughost.pid"

    @Flag(help: "Also reload when the plugins folder or the host config changes (inotify, debounced).")
    var watch = false

    @Option(help: "With --watch: milliseconds of quiet after a change before reloading.")
    var watchDebounceMs = 300

    func run() async throws {
        // Until the signal service traps it, SIGHUP's default action would end the process.
        signal(SIGHUP, SIG_IGN)
        guard let level = Logger.Level(rawValue: logLevel) else { throw ValidationError("unknown log level '\(logLevel)'") }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "plughost")
        let runtime = PluginRuntime(pluginsDirectory: options.plugins, config: try options.hostConfig(), servesHTTP: true, logger: logger)
        let files = HostFiles(pidFile: pidFile)
        let reloader = ReloadScheduler(runtime: runtime) { report in
            do {
                try files.writeReload(report)
            } catch {
                logger.warning("\(error)")
            }
        }
        var application = PluginHTTPServer.makeApplication(
            runtime: runtime, reloader: reloader, host: host, port: port, maxBodyBytes: maxBody, headerTimeout: runtime.config.headerTimeout, logger: logger,
            onServerRunning: { port in logger.info("serving HTTP on \(host):\(port)") })
        // Plugins start once the service group handles signals and before the port opens,
        // so no request finds the host without plugins and an early SIGTERM still shuts down cleanly.
        let strict = self.strict
        application.beforeServerStarts {
            do {
                try runtime.start(strict: strict)
                try files.writePid()
            } catch let error as PluginRuntime.StartFailure {
                logger.critical("not starting (--strict):\n\(error)")
                throw error
            } catch {
                logger.critical("not starting: \(error)")
                throw error
            }
        }
        // Shutdown runs in reverse order: the server drains in-flight requests first,
        // reloads stop being asked for, then the runtime fires the shutdown events and stops the plugins.
        var services: [any Service] = [PluginHostService(runtime: runtime, files: files), ReloadSignalService(reloader: reloader)]
        if watch {
            services.append(FolderWatchService(pluginsDirectory: options.plugins, configFile: options.config, reloader: reloader,
                                               debounce: .milliseconds(watchDebounceMs), logger: logger))
        }
        services.append(application)
        let group = ServiceGroup(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        try await group.run()
    }
}
