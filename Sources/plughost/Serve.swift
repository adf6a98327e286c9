#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import Hummingbird
import Logging
import PluginHTTP
import PluginRuntime
import PluginHTTPExtension
import ServiceLifecycle
import UnixSignals
import Synchronization

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

    @Option(help: "Log lines as 'human' (default) or 'json' (one object per line: time, level, label, alias, message, fields).")
    var logFormat: LogFormat = .human

    @Option(help: "Write the host's pid here (and each reload's outcome to <pid-file>.reload) for `plughost reload`.")
    var pidFile = "plughost.pid"

    @Flag(help: "Also reload when the plugins folder or the host config changes (inotify, debounced).")
    var watch = false

    @Option(help: "With --watch: milliseconds of quiet after a change before reloading.")
    var watchDebounceMs = 300

    @Option(help: "Worker processes that load the plugins and serve, under a supervisor that owns the socket and replaces a worker that dies; 0 serves in this one process (for a debugger).")
    var workers = 1

    @Option(help: .hidden)
    var workerSocket: Int32?


    func run() async throws {
        guard workers >= 0 else { throw ValidationError("--workers must be 0 or more") }
        if workerSocket == nil && workers > 0 {
            try supervise()
            return
        }
        try await serve()
    }

    /// The host's state folder: `[host] state-dir`, else the pid file's folder.
    func stateFolder(_ config: HostConfig) -> String {
        HostFiles(pidFile: pidFile).stateFolder(config)
    }

    /// Sends log lines to standard error at `--log-level`, as `--log-format` says.
    func bootstrapLogging() throws {
        guard let level = Logger.Level(rawValue: logLevel) else { throw ValidationError("unknown log level '\(logLevel)'") }
        switch logFormat {
        case .human:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        case .json:
            LoggingSystem.bootstrap { label in
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }

    /// The crash journal's path, in the state folder.
    func journalPath(_ config: HostConfig) -> String {
        stateFolder(config) + "/" + CrashJournal.fileName
    }

}
