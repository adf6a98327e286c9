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
import CHostSystem

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

    /// The descriptor at which a worker finds the listening socket its supervisor owns.
    static let workerSocketDescriptor: Int32 = 3
    /// The descriptor at which a worker finds its control channel to the supervisor (see ``ControlChannel``).
    static let workerControlDescriptor: Int32 = 4
    /// Set in a successor worker's environment: its predecessor still accepts on the same socket,
    /// so it accepts only once its plugins run (two processes accepting on one socket race for
    /// each connection; the loser's debug-build NIO asserts), and takes over the moment it does.
    static let successorVariable = "PLUGHOST_WORKER_SUCCESSOR"

    func run() async throws {
        guard workers >= 0 else { throw ValidationError("--workers must be 0 or more") }
        if workerSocket == nil && workers > 0 {
            try supervise()
            return
        }
        try await serve()
    }

    /// The host's state folder: `[host] state-dir`, else the pid file's folder.
    private func stateFolder(_ config: HostConfig) -> String {
        HostFiles(pidFile: pidFile).stateFolder(config)
    }

    /// Sends log lines to standard error at `--log-level`, as `--log-format` says.
    private func bootstrapLogging() throws {
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
    private func journalPath(_ config: HostConfig) -> String {
        stateFolder(config) + "/" + CrashJournal.fileName
    }

    /// Runs the supervisor: binds the socket, starts the workers, never loads a plugin.
    private func supervise() throws {
        try bootstrapLogging()
        let logger = Logger(label: "plughost.supervisor")
        let config = try options.hostConfig()
        // One SO_REUSEPORT socket per worker, all held here for the life of the host (see Supervisor).
        var sockets: [Int32] = []
        var boundPort = Int32(port)
        for _ in 0..<workers {
            var bound: Int32 = 0
            let socket = ph_listen_tcp(host, boundPort, 1024, 1, &bound)
            guard socket >= 0 else { throw ValidationError("cannot listen on \(host):\(boundPort): \(String(cString: strerror(errno)))") }
            sockets.append(socket)
            boundPort = bound
        }
        logger.info("listening on \(host):\(boundPort)")
        do {
            try HostFiles(pidFile: pidFile).writeAddress(host: host, port: Int(boundPort))
        } catch {
            logger.warning("\(error)")
        }
        let supervisor = Supervisor(
            workers: workers, sockets: sockets, workerArguments: Self.workerArguments(),
            files: HostFiles(pidFile: pidFile), journal: journalPath(config), config: config, logger: logger,
            stopTimeout: config.drainTimeout + .seconds(5))
        Glibc.exit(supervisor.run())
    }

    /// This command's arguments for a worker: the same, with `--worker-socket` instead of `--workers`.
    static func workerArguments() -> [String] {
        var arguments: [String] = []
        var skipNext = false
        for argument in CommandLine.arguments.dropFirst() {
            if skipNext { skipNext = false; continue }
            if argument == "--workers" { skipNext = true; continue }
            if argument.hasPrefix("--workers=") { continue }
            arguments.append(argument)
        }
        return arguments + ["--worker-socket", String(workerSocketDescriptor)]
    }

    /// Serves in this process: a worker (`--worker-socket`) or the whole host (`--workers 0`).
    private func serve() async throws {
        // Until the signal service traps it, SIGHUP's default action would end the process.
        signal(SIGHUP, SIG_IGN)
        try bootstrapLogging()
        // Before anything makes a metric: they report to the backend bootstrapped when they are made.
        let metrics = HostMetrics.bootstrap()
        let logger = Logger(label: "plughost")
        let config = try options.hostConfig()
        let runtime = PluginRuntime(pluginsDirectory: options.plugins, config: config, servesHTTP: true,
                                    containment: ContainmentFiles(stateFolder: stateFolder(config)), logger: logger)
        let files = HostFiles(pidFile: pidFile)
        let supervisor = workerSocket == nil ? nil : ProcessInfo.processInfo.environment["PLUGHOST_SUPERVISOR_PID"].flatMap { pid_t($0) }
        let replacement = ReplacementRequest(supervisor: supervisor, limit: runtime.config.maxRetainedImages, logger: logger)
        let reloader = ReloadScheduler(runtime: runtime) { report in
            do {
                try files.writeReload(report)
            } catch {
                logger.warning("\(error)")
            }
            replacement.askIfNeeded(retained: runtime.retainedSwiftImages)
        }
        // A worker reloads in the supervisor's rounds (every worker prepares, then all swap), which
        // it asks for on SIGHUP, POST /_plughost/reload and --watch; the supervisor writes the report.
        let link = workerSocket == nil ? nil : SupervisorLink(
            descriptor: Self.workerControlDescriptor, runtime: runtime, logger: logger,
            afterReload: { _ in replacement.askIfNeeded(retained: runtime.retainedSwiftImages) })
        link?.start()
        let control: any HostControl = link ?? reloader
        let requestReload: @Sendable () -> Void
        if let link {
            requestReload = { link.askForReload() }
        } else {
            requestReload = { reloader.requestReload() }
        }
        // A worker ends with its supervisor: it must not serve on alone.
        if workerSocket != nil, let parent = ProcessInfo.processInfo.environment["PLUGHOST_SUPERVISOR_PID"].flatMap({ pid_t($0) }),
           ph_exit_with_parent(parent) != 0 {
            throw ValidationError("the supervisor (pid \(parent)) is gone")
        }
        // New and changed libraries are loaded in a probe process before this one opens them,
        // so one that crashes while loading is refused at start or reload, not fatal here.
        ProcessProbe.install(config: options.config, unsafePermissions: options.unsafePermissions,
                             record: stateFolder(runtime.config) + "/probed-libraries")
        // Every fatal signal from here on is journaled with the plugin it came from.
        try CrashJournal.install(path: journalPath(runtime.config))
        // Plugins start once the service group handles signals, while the server already answers:
        // probes get "starting", and a plugin request waits until the plugins run (see HostReadiness),
        // so none finds the host without plugins; an early SIGTERM still shuts down cleanly.
        // Plugin work that may block runs on a pool of its own; a hang is journaled and,
        // in a worker, ends with its replacement.
        let journal = journalPath(runtime.config)
        let calls = PluginCallPool(limits: PluginCallPool.Limits(runtime.config), logger: logger,
                                   beforeCall: { ph_crash_allow_sampling() }) { hang in
            HangResponse.handle(hang, journal: journal, supervisor: supervisor, logger: logger)
        }
        let strict = self.strict
        let isWorker = workerSocket != nil
        let readiness = HostReadiness()
        let startPlugins: @Sendable () throws -> Void = {
            do {
                try runtime.start(strict: strict)
                // A worker's supervisor keeps the pid file.
                if !isWorker { try files.writePid() }
                readiness.markServing()
            } catch let error as PluginRuntime.StartFailure {
                readiness.markFailed()
                logger.critical("not starting (--strict):\n\(error)")
                throw error
            } catch {
                readiness.markFailed()
                logger.critical("not starting: \(error)")
                throw error
            }
        }
        let server: any Service
        if let workerSocket {
            server = WorkerServer(waitsForStart: ProcessInfo.processInfo.environment[Self.successorVariable] == "1" ? readiness : nil,
                                  watch: { replacement.askIfNeeded(retained: runtime.retainedSwiftImages) },
                                  server: PluginHTTPServer.makeInheritedSocketServer(
                runtime: runtime, reloader: control, socket: workerSocket, maxBodyBytes: maxBody,
                headerTimeout: runtime.config.headerTimeout, calls: calls, metrics: metrics, readiness: readiness, logger: logger,
                onServerRunning: { [host] in
                    // Tells the supervisor this worker serves once its plugins run too (a successor's
                    // predecessor may then drain). A message, not a signal: two workers' signals at once can merge.
                    Task {
                        guard await readiness.waitUntilStarted() else { return }
                        logger.info("worker \(getpid()) serving HTTP on \(host):\(ph_socket_port(workerSocket))")
                        link?.announceServing()
                    }
                }))
        } else {
            server = PluginHTTPServer.makeApplication(
                runtime: runtime, reloader: reloader, host: host, port: port, maxBodyBytes: maxBody, headerTimeout: runtime.config.headerTimeout,
                calls: calls, metrics: metrics, readiness: readiness, logger: logger,
                onServerRunning: { port in
                    logger.info("serving HTTP on \(host):\(port)")
                    do {
                        try files.writeAddress(host: host, port: port)
                    } catch {
                        logger.warning("\(error)")
                    }
                })
        }
        // Shutdown runs in reverse order: readiness turns 503 first, the server drains in-flight requests,
        // reloads stop being asked for, then the runtime fires the shutdown events and stops the plugins.
        var services: [any Service] = [PluginHostService(runtime: runtime, files: files, start: startPlugins),
                                       ReloadSignalService(requestReload: requestReload)]
        if watch {
            services.append(FolderWatchService(pluginsDirectory: options.plugins, configFile: options.config, requestReload: requestReload,
                                               debounce: .milliseconds(watchDebounceMs), logger: logger))
        }
        services.append(server)
        services.append(ReadinessService(readiness: readiness))
        let group = ServiceGroup(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        defer { calls.shutdown() }
        try await group.run()
    }
}

/// A worker's server: serves the inherited socket,
/// calling `watch` twice a second meanwhile (old images are released when a
/// reload's drain ends, after the reload's own report).
struct WorkerServer: Service {
    /// A successor's readiness: it serves only once its plugins started (nil: serves at once, probes answer "starting").
    let waitsForStart: HostReadiness?
    let watch: @Sendable () -> Void
    let server: InheritedSocketServer

    func run() async throws {
        if let waitsForStart, await !waitsForStart.waitUntilStarted() { return }
        let watcher = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(500))
                watch()
            }
        }
        defer { watcher.cancel() }
        try await server.run()
    }
}

/// A worker's request to be replaced once it keeps more than `limit` Swift images
/// mapped (see ``Supervisor``): sent once, after the reload that crossed the limit.
final class ReplacementRequest: Sendable {
    private let supervisor: pid_t?
    private let limit: Int
    private let logger: Logger
    private let asked = Atomic<Bool>(false)

    init(supervisor: pid_t?, limit: Int, logger: Logger) {
        self.supervisor = supervisor
        self.limit = limit
        self.logger = logger
    }

    /// Asks the supervisor for a successor if `retained` is past the limit and it was not asked yet.
    func askIfNeeded(retained: Int) {
        guard let supervisor, retained > limit, !asked.exchange(true, ordering: .relaxed) else { return }
        logger.info("\(retained) Swift images stay mapped (max-retained-images = \(limit)): asking the supervisor for a successor")
        kill(supervisor, ph_replace_worker_signal())
    }
}

/// What a worker does when a plugin call hangs (runs past `hang-kill-ms`): the
/// hang is journaled like a crash, charged to the plugin whose code the stuck
/// thread is in (its own frames say, sampled by a signal), and the supervisor
/// is asked to replace this worker: the successor serves first, then this
/// worker is killed. Alone (`--workers 0`) the process serves on with one
/// thread fewer.
enum HangResponse {
    static func handle(_ hang: PluginCallPool.Hang, journal: String, supervisor: pid_t?, logger: Logger) {
        let milliseconds = hang.elapsed.components.seconds * 1000 + hang.elapsed.components.attoseconds / 1_000_000_000_000_000
        let culprit = ph_crash_journal_hang(pthread_t(hang.thread))
        var alias = hang.owner.alias
        if culprit >= 0, let aliases = ph_crash_library_aliases(culprit) {
            alias = String(cString: aliases)
        } else {
            // The thread's frames named no plugin (or it did not answer): charge the endpoint's plugin.
            logger.warning("\(hang.endpoint): \(culprit == -1 ? "the stuck thread's frames are in no plugin library" : "the stuck thread did not answer the sampling signal"): the hang is charged to '\(hang.owner.alias)'")
            do {
                try CrashJournal.appendHang(alias: hang.owner.alias, version: hang.owner.build.version, sha256: hang.owner.build.sha256,
                                            milliseconds: Int(milliseconds), path: journal)
            } catch {
                logger.error("\(error)")
            }
        }
        guard let supervisor else {
            logger.error("\(hang.endpoint): a call into '\(alias)' has run for \(milliseconds) ms (hang-kill-ms): journaled as a hang; its thread stays taken (serving alone, --workers 0)")
            return
        }
        logger.error("\(hang.endpoint): a call into '\(alias)' has run for \(milliseconds) ms (hang-kill-ms): journaled as a hang; asking the supervisor to replace this worker")
        kill(supervisor, ph_hung_worker_signal())
    }
}
