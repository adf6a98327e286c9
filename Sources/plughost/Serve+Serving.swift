#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CCallRecord
import CCrashJournal
import CProcessControl
import Foundation
import Logging
import PluginHTTP
import PluginRuntime
import PluginHTTPExtension
import PluginSupervisor
import ServiceLifecycle
import UnixSignals

extension Serve {
    /// Serves in this process: a worker (`--worker-socket`) or the whole host (`--workers 0`).
    func serve() async throws {
        // Until the signal service traps it, SIGHUP's default action would end the process.
        signal(SIGHUP, SIG_IGN)
        try bootstrapLogging()
        // Before anything makes a metric: they report to the backend bootstrapped when they are made.
        let metrics = HostMetrics.bootstrap()
        let logger = Logger(label: "plughost")
        let environment = ProcessInfo.processInfo.environment
        let isWorker = workerSocket != nil
        if isWorker { WorkerDescriptors.closeOnExec() }
        // Before any plugin code: where each thread records the plugin call it is in (the
        // supervisor's page, which outlives this process; alone, a page of its own).
        if ph_call_page_attach(isWorker ? WorkerDescriptors.callPage : -1) != 0 {
            logger.warning("no in-flight record from the supervisor (\(String(cString: strerror(errno)))): deaths without a journal line stay unattributed")
        }
        // A replacement starts from the last committed generation, not from what the folder holds now.
        if isWorker && environment[WorkerDescriptors.committedVariable] == "1" {
            do {
                let overlay = try CommittedBuilds.read(WorkerDescriptors.committed)
                FileOverlay.install(overlay)
                logger.info("starting from the last committed generation (\(overlay.count) files kept by the supervisor)")
            } catch {
                logger.warning("the committed builds could not be read back (\(error)): starting from the plugins folder")
            }
            close(WorkerDescriptors.committed)
        }
        let config: HostConfig
        do {
            config = try options.hostConfig()
        } catch {
            // A restart cannot fix a config that does not load: the supervisor stops the host.
            if isWorker { WorkerLink.refuseStart(descriptor: WorkerDescriptors.control, "\(error)", permanent: true) }
            throw error
        }
        // The host cache: the supervisor's store, which every worker maps; alone, a store of this process.
        if isWorker, let store = SharedCacheStore.attach(descriptor: WorkerDescriptors.cache) {
            SharedCacheStore.install(store)
        } else if let store = SharedCacheStore.make(bytes: config.cacheBytes, shareable: false) {
            if isWorker { logger.warning("no host cache from the supervisor: this worker keeps its own") }
            SharedCacheStore.install(store)
        } else {
            logger.error("cannot map a host cache of \(config.cacheBytes) bytes (\(String(cString: strerror(errno)))): plugins' cache calls fail")
        }
        let runtime = PluginRuntime(pluginsDirectory: options.plugins, config: config, servesHTTP: true,
                                    containment: ContainmentFiles(stateFolder: stateFolder(config)), logger: logger)
        let files = HostFiles(pidFile: pidFile)
        // A worker reloads in the supervisor's rounds (every worker prepares, then all swap), which
        // it asks for on SIGHUP, POST /_plughost/reload and --watch; the supervisor writes the report.
        let link = isWorker ? WorkerLink(
            descriptor: WorkerDescriptors.control, runtime: runtime, logger: logger,
            snapshot: { WorkerSnapshot(pid: getpid(), metrics: metrics.exposition(runtime: runtime), listing: PluginHTTPServer.listing(runtime: runtime)) }) : nil
        // Alone (no link) it never asks; the server checks every half second (after reloads and their drains too).
        let request = ReplacementRequest(link: link, limit: runtime.config.maxRetainedImages, logger: logger)
        let reloader = ReloadScheduler(runtime: runtime) { report in
            do {
                try files.writeReload(report)
            } catch {
                logger.warning("\(error)")
            }
        }
        link?.start()
        let control: any HostControl = link.map { WorkerControl(link: $0) } ?? reloader
        let requestReload: @Sendable () -> Void
        if let link {
            requestReload = { link.askForReload() }
        } else {
            requestReload = { reloader.requestReload() }
        }
        // A worker ends with its supervisor: it must not serve on alone.
        if isWorker, let parent = environment["PLUGHOST_SUPERVISOR_PID"].flatMap({ pid_t($0) }), ph_exit_with_parent(parent) != 0 {
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
            HangResponse.handle(hang, journal: journal, link: link, logger: logger)
        }
        let strict = self.strict
        let readiness = HostReadiness()
        let startPlugins: @Sendable () throws -> Void = {
            defer { FileOverlay.install(nil) }
            do {
                try runtime.start(strict: strict)
                // A worker's supervisor keeps the pid file.
                if !isWorker { try files.writePid() }
                readiness.markServing()
            } catch let error as PluginRuntime.StartFailure {
                readiness.markFailed()
                logger.critical("not starting (--strict):\n\(error)")
                // The same files would be refused again: the supervisor stops the host.
                link?.refuseStart("--strict: \(error)", permanent: true)
                throw error
            } catch {
                readiness.markFailed()
                logger.critical("not starting: \(error)")
                link?.refuseStart("\(error)", permanent: false)
                throw error
            }
        }
        let server: any Service
        if let workerSocket {
            server = WorkerServer(waitsForStart: environment[WorkerDescriptors.successorVariable] == "1" ? readiness : nil, link: link,
                                  watch: { request.askIfNeeded(retained: runtime.retainedSwiftImages) },
                                  server: PluginHTTPServer.makeInheritedSocketServer(
                runtime: runtime, reloader: control, socket: workerSocket, healthSocket: WorkerDescriptors.health, maxBodyBytes: maxBody,
                headerTimeout: HTTPServerConfig(runtime.config).headerTimeout, calls: calls, metrics: metrics, readiness: readiness, logger: logger,
                onServerRunning: { [host] in
                    // Tells the supervisor this worker serves once its plugins run too (a successor's
                    // predecessor may then drain).
                    Task {
                        guard await readiness.waitUntilStarted() else { return }
                        logger.info("worker \(getpid()) serving HTTP on \(host):\(ph_socket_port(workerSocket))")
                        link?.announceServing()
                    }
                }, onListening: { stop in link?.onQuiesce(stop) }))
        } else {
            server = PluginHTTPServer.makeApplication(
                runtime: runtime, reloader: reloader, host: host, port: port, maxBodyBytes: maxBody, headerTimeout: HTTPServerConfig(runtime.config).headerTimeout,
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
        var services: [any Service] = [PluginHostService(runtime: runtime, files: files, start: startPlugins,
                                                         beforeShutdown: { link?.abandonRound() }),
                                       ReloadSignalService(requestReload: requestReload)]
        // One watcher for the host: alone, or slot 0's worker (every worker watching would ask for a round each).
        if watch && (environment[WorkerDescriptors.slotVariable] ?? "0") == "0" {
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
