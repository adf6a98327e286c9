#if canImport(Glibc)
import Glibc
#endif
import CCrashJournal
import Logging
import PluginHTTP
import PluginHTTPExtension
import PluginRuntime
import PluginSupervisor
import ServiceLifecycle
import Synchronization

/// A worker's server: serves the inherited socket,
/// calling `watch` twice a second meanwhile (old images are released when a
/// reload's drain ends, after the reload's own report).
struct WorkerServer: Service {
    /// A successor's readiness: it serves only once its plugins started (nil: serves at once, probes answer "starting").
    let waitsForStart: HostReadiness?
    /// A successor's link: once its plugins run it also waits until its predecessor stopped accepting.
    let link: WorkerLink?
    let watch: @Sendable () -> Void
    let server: InheritedSocketServer

    func run() async throws {
        if let waitsForStart {
            guard await waitsForStart.waitUntilStarted() else { return }
            await link?.waitForTurnToAccept()
        }
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
/// mapped (see docs/CONTAINMENT.md): sent once, after the reload that crossed the limit.
final class ReplacementRequest: Sendable {
    private let link: WorkerLink?
    private let limit: Int
    private let logger: Logger
    private let asked = Atomic<Bool>(false)

    init(link: WorkerLink?, limit: Int, logger: Logger) {
        self.link = link
        self.limit = limit
        self.logger = logger
    }

    /// Asks the supervisor for a successor if `retained` is past the limit and it was not asked yet.
    func askIfNeeded(retained: Int) {
        guard let link, retained > limit, !asked.exchange(true, ordering: .relaxed) else { return }
        logger.info("\(retained) Swift images stay mapped (max-retained-images = \(limit)): asking the supervisor for a successor")
        link.askReplacement(.retainedImages)
    }
}

/// What a worker does when a plugin call hangs (runs past `hang-kill-ms`): the
/// hang is journaled like a crash, charged to the plugin whose code the stuck
/// thread is in (its own frames say, sampled by a signal, else its in-flight
/// record), and the supervisor is asked to replace this worker: the successor
/// serves first, then this worker is killed. Alone (`--workers 0`) the process
/// serves on with one thread fewer.
enum HangResponse {
    static func handle(_ hang: PluginCallPool.Hang, journal: String, link: WorkerLink?, logger: Logger) {
        let milliseconds = hang.elapsed.wholeMilliseconds
        let culprit = ph_crash_journal_hang(pthread_t(hang.thread))
        var alias = hang.owner.alias
        if culprit >= 0, let aliases = ph_crash_library_aliases(culprit) {
            alias = String(cString: aliases)
        } else if culprit != PH_CRASH_RECORDED {
            // Neither the frames nor the thread's record named a plugin (or it did not answer): charge the endpoint's plugin.
            logger.warning("\(hang.endpoint): \(culprit == -1 ? "the stuck thread's frames are in no plugin library" : "the stuck thread did not answer the sampling signal"): the hang is charged to '\(hang.owner.alias)'")
            do {
                try CrashJournal.appendHang(alias: hang.owner.alias, version: hang.owner.build.version, sha256: hang.owner.build.sha256,
                                            milliseconds: Int(milliseconds), path: journal)
            } catch {
                logger.error("\(error)")
            }
        }
        guard let link else {
            logger.error("\(hang.endpoint): a call into '\(alias)' has run for \(milliseconds) ms (hang-kill-ms): journaled as a hang; its thread stays taken (serving alone, --workers 0)")
            return
        }
        logger.error("\(hang.endpoint): a call into '\(alias)' has run for \(milliseconds) ms (hang-kill-ms): journaled as a hang; asking the supervisor to replace this worker")
        link.askReplacement(.hung)
    }
}

/// A worker's link to its supervisor as the admin endpoints see it.
struct WorkerControl: HostControl {
    let link: WorkerLink

    func reloadForAdmin() async -> (succeeded: Bool, json: String) {
        guard let report = await link.reloadForAdmin() else {
            let failure = ReloadRoundReport(startedAt: WallClock.nanoseconds(),
                                            failure: "no reload round report from the supervisor (the host is stopping, this worker is being replaced, or the supervisor is gone)")
            return (false, failure.json)
        }
        return (report.succeeded, report.json)
    }

    var supervisorView: String? { link.supervisorView?.json }

    func hostView() async -> HostView? {
        guard let host = await link.hostSnapshot() else { return .unavailable }
        return HostView(metrics: host.metrics, workers: host.workers.map { HostView.Worker(pid: $0.pid, listing: $0.listing) },
                        missing: host.missing)
    }
}
