#if canImport(Glibc)
import Glibc
#endif
import CIsolation
import Logging
import Synchronization

/// What the host does when an isolated plugin's process ends unexpectedly (a crash, a
/// seccomp kill, its memory limit) or is killed for a hang: a journal line charged to
/// the plugin's build, like a crash in a worker, with the signal (and the syscall for
/// SIGSYS); a log line; and a restart with backoff unless the build's crashes within
/// `crash-window-s` reached `crash-limit` (quarantine: it stays down, and what it
/// guarded fails closed, until a new build is loaded or `plughost unquarantine`).
enum IsolatedDeaths {
    /// The build behind each isolated plugin, to charge deaths to.
    struct Build: Sendable {
        let alias: String
        let manifestVersion: String
        let sha256: String
        let crashLimit: Int
        let crashWindowSeconds: Int
    }

    private static let builds = Mutex<[UInt: Build]>([:])
    /// Where the host's lines about plugin processes go.
    static let logger = Logger(label: "plughost")

    /// Remembers `isolated`'s build (and installs the observer, once).
    static func register(_ isolated: OpaquePointer, _ build: Build) {
        installOnce
        builds.withLock { $0[UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(isolated)))] = build }
    }

    private static let installOnce: Void = {
        ph_isolation_set_observer({ _, death in
            guard let death else { return 1 }
            return IsolatedDeaths.handle(death.pointee) ? 1 : 0
        }, nil)
    }()

    /// Journals and logs `death`; answers whether to restart the plugin process.
    static func handle(_ death: ph_isolation_death_t) -> Bool {
        let key = UInt(bitPattern: Int(bitPattern: death.isolated.map { UnsafeRawPointer($0) }))
        let alias = death.alias.map { String(cString: $0) } ?? "?"
        let version = death.version.map { String(cString: $0) } ?? ""
        let detail = death.detail.map { String(cString: $0) } ?? ""
        let build = builds.withLock { $0[key] }
        let signal = death.hang != 0 ? "HANG" : death.signal != 0 ? SignalNames.name(death.signal) : "EXIT"
        var note = death.hang != 0 ? "a call into \(alias) \(version) got no answer within its call-timeout-ms: its plugin process was killed"
            : death.signal != 0 ? "plugin process of \(alias) \(version) died of \(signal)"
            : "plugin process of \(alias) \(version) exited with status \(death.exit_status)"
        // The sandbox's report: "SIGSYS syscall NUMBER NAME".
        let report = detail.split(separator: " ")
        let syscall = report.count >= 4 && detail.hasPrefix("SIGSYS syscall ") ? String(report[3]) : nil
        if let syscall { note += " in syscall \(syscall) (\(report[2])), which its seccomp allow-list refuses" }
        logger.error("[\(alias)] \(note) (pid \(death.pid)); the worker and other plugins carry on")
        guard let build else { return true }
        let line = CrashJournal.supervisorLine(pid: death.pid, signal: signal,
                                               build: JournaledBuild(alias: build.alias, manifestVersion: build.manifestVersion,
                                                                     pluginVersion: version, sha256: build.sha256),
                                               call: nil, inFlight: [], note: note, syscall: syscall, source: "isolation")
        guard let journal = CrashJournal.installedPath else { return true }
        do {
            try CrashJournal.append(line: line, path: journal)
        } catch {
            logger.error("\(error)")
        }
        let quarantine = QuarantineList.evaluate(CrashJournal.records(path: journal), limit: build.crashLimit, window: build.crashWindowSeconds)
        if quarantine.entry(alias: build.alias, sha256: build.sha256) != nil {
            logger.error("[\(alias)] plugin '\(alias)' is quarantined after \(build.crashLimit) crashes of its plugin process within \(build.crashWindowSeconds) s: not restarted; what it serves or guards answers 503 until a new build is loaded (or plughost unquarantine \(alias))")
            return false
        }
        logger.info("[\(alias)] restarting its plugin process (restart \(death.restarts + 1))")
        return true
    }
}
