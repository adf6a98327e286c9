#if canImport(Glibc)
import Glibc
#endif
import CHostSystem
import Foundation
import Logging
import PluginRuntime

/// `plughost serve --workers N`: the process that owns the listening sockets and
/// the pid file for the life of the host and runs no plugin code; N worker
/// processes load the plugins and serve from the socket they inherit.
///
/// Each worker slot has its own listening socket on the one port
/// (`SO_REUSEPORT`, as nginx's `reuseport`): the kernel spreads connections over
/// the sockets, no worker is woken for a connection another takes (one shared
/// socket wakes every worker for each connection), and a socket whose worker is
/// being replaced keeps its backlog, so its connections wait for the new
/// worker instead of being refused.
///
/// - A worker that dies is replaced: at once the first time, then after a delay
///   that doubles (up to 5 s) while replacements keep dying within 10 s.
///   A death by signal is logged with the crash journal's line for that pid;
///   when the journal then quarantines a plugin, the other workers reload
///   without it.
/// - A reload (SIGHUP, or a worker asking: `POST /_plughost/reload`, `--watch`)
///   is one round over every serving worker, prepare everywhere then swap (see
///   ``SupervisorReloads``); its combined report goes to `<pid file>.reload`.
/// - A worker that keeps more Swift images mapped than `[host] max-retained-images`
///   asks (``ph_replace_worker_signal``) to be replaced: its successor starts on the same socket, says
///   (a `serving` message) when it serves, and only then the old worker drains and exits, which
///   returns the images' memory with no request refused. A worker in which a
///   plugin call hung asks the same way (``ph_hung_worker_signal``); it is killed
///   2 s after its successor serves.
/// - SIGTERM and SIGINT are forwarded; the supervisor waits for the workers to
///   drain and exit, then removes the pid file and exits.
///
/// Signals arrive through a self-pipe and worker messages through one control
/// channel per worker (``ControlChannel``); the loop polls both, so the
/// supervisor runs no plugin code and needs no event loop.
final class Supervisor {
    let workers: Int
    /// One listening socket per worker slot.
    let sockets: [Int32]
    let workerArguments: [String]
    let files: HostFiles
    let journal: String
    /// The host config: its crash limit and window decide quarantines.
    let config: HostConfig
    let logger: Logger
    /// How long workers get to drain after SIGTERM before they are killed.
    let stopTimeout: Duration

    /// One worker slot: the process running in it and how it has been faring.
    struct Slot {
        var pid: pid_t = 0
        /// The worker said it serves (a `serving` message): it takes part in reload rounds.
        var serving = false
        /// A worker started to take over from `pid` (which asked to be replaced), until it serves.
        var successor: pid_t = 0
        /// `pid` asked to be replaced because a plugin call in it hung: killed once the successor serves.
        var hung = false
        var startedAt = ContinuousClock.now
        var restartDelay: Duration = .zero
        var restartAt: ContinuousClock.Instant?
        var restarts = 0
    }

    var slots: [Slot]
    /// Each live worker's control channel (the supervisor's end), by pid.
    var controls: [pid_t: ControlChannel] = [:]
    /// Workers that were replaced and are draining, with when to kill one that
    /// does not exit (at once for a hung one: it cannot finish its stuck call).
    var retiring: [pid_t: ContinuousClock.Instant] = [:]
    var quarantine: QuarantineList
    /// The reload round under way, the last round's number, and whether another was asked for meanwhile.
    var round: ReloadRoundState?
    var lastRound = 0
    var roundPending = false
    /// When the last round began: a worker started before it that was not serving yet
    /// (so took no part) loaded what was on disk then, and needs a round of its own.
    var lastRoundStartedAt: ContinuousClock.Instant?
    /// The view last sent to the workers.
    var lastView = ""

    init(workers: Int, sockets: [Int32], workerArguments: [String], files: HostFiles, journal: String, config: HostConfig,
         logger: Logger, stopTimeout: Duration) {
        self.workers = workers
        self.sockets = sockets
        self.workerArguments = workerArguments
        self.files = files
        self.journal = journal
        self.config = config
        self.logger = logger
        self.stopTimeout = stopTimeout
        slots = Array(repeating: Slot(), count: workers)
        quarantine = QuarantineList.read(journal: journal, config: config)
    }

    /// Runs until SIGTERM or SIGINT; returns the exit status.
    func run() -> Int32 {
        let signals = ph_supervisor_signals()
        guard signals >= 0 else {
            logger.critical("cannot set up signal handling: \(String(cString: strerror(errno)))")
            return 1
        }
        for index in slots.indices { slots[index].pid = start(number: index) }
        do {
            try files.writePid()
        } catch {
            logger.critical("\(error)")
        }
        logger.info("supervising \(workers) worker(s) (pids \(slots.map { String($0.pid) }.joined(separator: ", ")))")

        let hungSignal = ph_hung_worker_signal()
        let replaceSignal = ph_replace_worker_signal()
        while true {
            let (signalReady, messages) = wait(signals: signals, milliseconds: 100)
            for (pid, message) in messages { handle(message, from: pid) }
            var sender: pid_t = 0
            let next = signalReady ? ph_supervisor_next_signal(signals, 0, &sender) : 0
            switch next {
            case SIGHUP:
                logger.info("SIGHUP: reloading every worker")
                startRound()
            case SIGTERM, SIGINT:
                logger.info("shutting down: stopping \(slots.filter { $0.pid > 0 }.count) worker(s)")
                for pid in retiring.keys { kill(pid, SIGTERM) }
                stopAll()
                files.removePid()
                return 0
            case replaceSignal, hungSignal:
                // A worker asks to be replaced (it keeps too many Swift images mapped, or a
                // plugin call in it hung): its successor starts on the same socket and takes
                // over once it serves.
                if let index = slots.firstIndex(where: { $0.pid == sender && $0.successor == 0 }) {
                    let hung = next == hungSignal
                    logger.info("worker \(sender) asked to be replaced\(hung ? " (a plugin call in it hung)" : ""); starting its successor")
                    slots[index].successor = start(number: index, successor: true)
                    slots[index].hung = hung
                }
                if next == hungSignal { quarantineIfDue() }
            default:
                break
            }
            if reap() { quarantineIfDue() }
            let now = ContinuousClock.now
            for (pid, due) in retiring where due <= now {
                logger.error("replaced worker \(pid) has not exited: killing it")
                kill(pid, SIGKILL)
                retiring[pid] = .now + .seconds(3600)
            }
            if let round, round.deadline <= now { roundTimedOut() }
            for index in slots.indices where slots[index].pid == 0 {
                if let due = slots[index].restartAt, due > now { continue }
                slots[index].pid = start(number: index)
                slots[index].serving = false
            }
            sendViewIfChanged()
        }
    }

    /// Waits up to `milliseconds` for a signal or worker messages; returns whether a signal is
    /// waiting and every message that arrived (a worker whose channel closed is forgotten).
    private func wait(signals: Int32, milliseconds: Int32) -> (Bool, [(pid_t, (verb: String, text: String))]) {
        let channels = Array(controls)
        var descriptors = [pollfd(fd: signals, events: Int16(POLLIN), revents: 0)]
            + channels.map { pollfd(fd: $0.value.descriptor, events: Int16(POLLIN), revents: 0) }
        guard poll(&descriptors, nfds_t(descriptors.count), milliseconds) > 0 else { return (false, []) }
        var messages: [(pid_t, (verb: String, text: String))] = []
        for (index, (pid, channel)) in channels.enumerated() where descriptors[index + 1].revents != 0 {
            if let message = channel.receive() {
                messages.append((pid, message))
            } else {
                channel.close()
                controls[pid] = nil
            }
        }
        return (descriptors[0].revents != 0, messages)
    }

    /// A worker says it serves: a successor takes its predecessor's slot (which now drains);
    /// any worker gets the supervisor's view.
    func serves(_ sender: pid_t) {
        guard sender > 0 else { return }
        if let index = slots.firstIndex(where: { $0.successor == sender }) {
            let old = slots[index].pid
            let hung = slots[index].hung
            logger.info("worker \(sender) serves in place of worker \(old), which now drains\(hung ? " (killed in 2 s: a call in it hung)" : "")")
            slots[index].pid = sender
            slots[index].successor = 0
            slots[index].hung = false
            slots[index].startedAt = .now
            slots[index].serving = true
            retiring[old] = hung ? .now + .seconds(2) : .now + stopTimeout
            controls.removeValue(forKey: old)?.close()
            kill(old, SIGTERM)
        } else if let index = slots.firstIndex(where: { $0.pid == sender }) {
            slots[index].serving = true
            // A reload round came while this worker was starting: it may have loaded the old
            // files, and took no part. Another round brings every worker to the same files.
            if let began = lastRoundStartedAt, slots[index].startedAt < began {
                logger.info("worker \(sender) started before the last reload round and took no part in it: reloading again")
                startRound()
            }
        }
        lastView = ""
    }

    /// Starts a worker for slot `number`; its pid, or 0 (retried in a second).
    /// - Parameter successor: It shares the socket with a predecessor that still serves: it
    ///   accepts only once its plugins run (``Serve/successorVariable``).
    private func start(number: Int, successor: Bool = false) -> pid_t {
        let executable = Self.executablePath
        let argv = [executable] + workerArguments
        var environment = ["PLUGHOST_SUPERVISOR_PID": String(getpid())]
        if successor { environment[Serve.successorVariable] = "1" }
        let envp = Self.childEnvironment(environment)
        guard let (mine, theirs) = ControlChannel.pair() else {
            logger.error("cannot start worker \(number): no control channel: \(String(cString: strerror(errno))); trying again")
            slots[number].restartAt = .now + .seconds(1)
            return 0
        }
        defer { theirs.close() }
        let pid = CStrings.with(argv) { cArgv in
            CStrings.with(envp) { cEnvp in
                ph_spawn_worker(executable, cArgv, cEnvp, sockets[number], Serve.workerSocketDescriptor,
                                theirs.descriptor, Serve.workerControlDescriptor)
            }
        }
        guard pid > 0 else {
            logger.error("cannot start worker \(number): \(String(cString: strerror(errno))); trying again")
            mine.close()
            slots[number].restartAt = .now + .seconds(1)
            return 0
        }
        controls[pid] = mine
        slots[number].startedAt = .now
        slots[number].restartAt = nil
        return pid
    }

    /// After a worker crashed or hung: when the journal now quarantines a plugin build it
    /// did not before, the workers still serving reload (a round), which leaves that plugin
    /// out (their replacements start without it anyway).
    private func quarantineIfDue() {
        let now = QuarantineList.read(journal: journal, config: config)
        let fresh = now.entries.values.filter { quarantine.entry(alias: $0.alias, sha256: $0.sha256) == nil }
        quarantine = now
        lastView = ""
        guard !fresh.isEmpty else { return }
        for entry in fresh { logger.error("plugin '\(entry.alias)' is \(entry.reason)") }
        startRound()
    }

    /// Collects every worker that exited and schedules its replacement.
    /// - Returns: Whether one died of a signal (a crash to weigh for quarantine).
    private func reap() -> Bool {
        var crashed = false
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            guard pid > 0 else { return crashed }
            if status & 0x7f != 0 { crashed = true }
            controls.removeValue(forKey: pid)?.close()
            workerGone(pid)
            lastView = ""
            if retiring.removeValue(forKey: pid) != nil {
                logger.info("replaced worker \(pid) \(describe(status: status, pid: pid))")
                continue
            }
            if let index = slots.firstIndex(where: { $0.successor == pid }) {
                // The successor died before serving: the old worker serves on and may ask again.
                logger.error("successor worker \(pid) \(describe(status: status, pid: pid)) before serving")
                slots[index].successor = 0
                continue
            }
            guard let index = slots.firstIndex(where: { $0.pid == pid }) else { continue }
            let lived = ContinuousClock.now - slots[index].startedAt
            logger.error("worker \(pid) \(describe(status: status, pid: pid)) after \(lived.formatted(.units(allowed: [.seconds, .milliseconds], width: .narrow)))")
            // A worker that ran a while before dying is replaced at once; one that keeps
            // dying soon after its start waits 100 ms, 200 ms, … up to 5 s.
            if lived > .seconds(10) { slots[index].restartDelay = .zero }
            let delay = slots[index].restartDelay
            slots[index].pid = 0
            slots[index].serving = false
            slots[index].restarts += 1
            slots[index].restartAt = .now + delay
            slots[index].restartDelay = min(max(delay * 2, .milliseconds(100)), .seconds(5))
        }
    }

    /// How a worker ended, with the journal's line when a signal killed it.
    private func describe(status: Int32, pid: pid_t) -> String {
        let signal = status & 0x7f
        guard signal != 0 else { return "exited with status \((status >> 8) & 0xff)" }
        let name = String(cString: strsignal(signal))
        if let record = CrashJournal.records(path: journal).last(where: { $0.pid == pid }) {
            return "died of \(name): \(record.line)"
        }
        return "died of \(name) (no journal line: the fault was outside plugin code or the handler could not run)"
    }

    /// Forwards SIGTERM, waits for the workers to exit (killing them after `stopTimeout`).
    private func stopAll() {
        for slot in slots where slot.successor > 0 { kill(slot.successor, SIGTERM) }
        for slot in slots where slot.pid > 0 { kill(slot.pid, SIGTERM) }
        let deadline = ContinuousClock.now + stopTimeout
        while slots.contains(where: { $0.pid > 0 }) {
            for index in slots.indices where slots[index].pid > 0 {
                var status: Int32 = 0
                if waitpid(slots[index].pid, &status, WNOHANG) == slots[index].pid { slots[index].pid = 0 }
            }
            if ContinuousClock.now > deadline {
                for index in slots.indices where slots[index].pid > 0 {
                    logger.error("worker \(slots[index].pid) did not stop within the drain time: killing it")
                    kill(slots[index].pid, SIGKILL)
                    var status: Int32 = 0
                    waitpid(slots[index].pid, &status, 0)
                    slots[index].pid = 0
                }
            }
            usleep(20_000)
        }
    }

    /// This process's environment for a child that runs plugin code, as `KEY=VALUE`
    /// strings, with `extra` added: the Swift runtime's backtracer would hold a
    /// crashing child for seconds (the crash journal records what is needed instead).
    static func childEnvironment(_ extra: [String: String] = [:]) -> [String] {
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        environment.merge(extra) { $1 }
        return environment.map { "\($0.key)=\($0.value)" }
    }

    /// This program's own file, for starting workers.
    static var executablePath: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

}

/// NULL-terminated C string arrays, for `argv` and `envp`.
enum CStrings {
    /// Calls `body` with `strings` as a NULL-terminated C array.
    static func with<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        var pointers = strings.map { strdup($0) } + [nil]
        defer { pointers.forEach { free($0) } }
        return pointers.withUnsafeMutableBufferPointer { body(UnsafePointer($0.baseAddress!)) }
    }
}
