#if canImport(Glibc)
import Glibc
#endif
import CDescriptor
import CProcessControl
import CCallRecord
public import Logging
public import PluginRuntime

/// `plughost serve --workers N`: the process that owns the listening sockets
/// and runs no plugin code; N worker processes load the plugins and serve from
/// the socket they inherit. Its decisions are ``SupervisorStateMachine``'s;
/// this type does the I/O: it polls the signal pipe, the control channels and
/// the health checks, reaps workers, reads their in-flight records, starts
/// workers and carries out every action.
///
/// Each worker slot has its own listening socket on the one port
/// (`SO_REUSEPORT`, as nginx's `reuseport`) and each worker its own health
/// socket; a worker inherits, at fixed descriptors (``WorkerDescriptors``), its slot's
/// sockets, its control channel, its in-flight record page and, once a
/// generation was committed, the committed builds' bytes.
public final class Supervisor {
    /// What the supervisor needs from the program that runs it.
    public struct Environment {
        /// The executable to start workers from, and their arguments (after the path).
        public var executable: String
        public var arguments: [String]
        /// Extra environment variables for workers (added to this process's).
        public var environment: [String: String]
        /// The crash journal's path.
        public var journal: String
        /// Writes the pid file (once the workers start), removes it at the end.
        public var writePid: () throws -> Void
        public var removePid: () -> Void
        /// Writes a round's report beside the pid file.
        public var writeRoundReport: (ReloadRoundReport) throws -> Void

        /// The environment of a supervisor that starts `executable` with `arguments`.
        public init(executable: String, arguments: [String], environment: [String: String] = [:], journal: String,
                    writePid: @escaping () throws -> Void, removePid: @escaping () -> Void,
                    writeRoundReport: @escaping (ReloadRoundReport) throws -> Void) {
            self.executable = executable
            self.arguments = arguments
            self.environment = environment
            self.journal = journal
            self.writePid = writePid
            self.removePid = removePid
            self.writeRoundReport = writeRoundReport
        }
    }

    private var machine: SupervisorStateMachine
    private let environment: Environment
    private let logger: Logger
    /// One listening socket per slot (TCP, shared by a worker and its successor).
    private let sockets: [Int32]
    /// Numbers the health sockets (one per worker process: two processes accepting on one
    /// socket race for each connection, which a debug build of NIO asserts on).
    private var healthSerial = 0
    private var controls: [Int32: ControlChannel] = [:]
    private var pages: [Int32: CallPage] = [:]
    private var health: [Int32: HealthCheck] = [:]
    /// Workers whose control channel ended, and when (see ``killDeaf()``).
    private var channelLost: [Int32: ContinuousClock.Instant] = [:]
    /// The committed builds' bytes (a sealed in-memory file), handed to every worker started.
    private var committed: Int32 = -1
    /// The host cache every worker maps (made here, before any worker starts).
    private let cache: SharedCacheStore?
    private var lastResourceCheck = ContinuousClock.now

    /// A supervisor with `sockets` (one per slot) under `configuration`'s rules.
    /// - Parameter cache: The host cache's store, made shareable (``SharedCacheStore/make(bytes:shareable:)``); every worker maps it.
    public init(configuration: SupervisorStateMachine.Configuration, sockets: [Int32], cache: SharedCacheStore?, environment: Environment,
                logger: Logger) {
        self.environment = environment
        self.cache = cache
        self.logger = logger
        self.sockets = sockets
        machine = SupervisorStateMachine(configuration: configuration, records: CrashJournal.records(path: environment.journal))
    }

    /// Runs until SIGTERM or SIGINT (or a start that cannot succeed); returns the exit status.
    public func run() -> Int32 {
        let signals = ph_supervisor_signals()
        guard signals >= 0 else {
            logger.critical("cannot set up signal handling: \(String(cString: strerror(errno)))")
            return 1
        }
        if let status = perform(machine.handle(.begin(at: .now))) { return status }
        do {
            try environment.writePid()
        } catch {
            logger.critical("\(error)")
        }
        logger.info("supervising \(machine.slots.count) worker(s) (pids \(machine.slots.map { String($0.pid) }.joined(separator: ", ")))")
        while true {
            let signal = waitForInput(signals: signals, milliseconds: 100)
            var events: [SupervisorStateMachine.Event] = []
            switch signal {
            case SIGHUP: events.append(.hangUp(at: .now))
            case SIGTERM, SIGINT: events.append(.terminate(at: .now))
            default: break
            }
            for (pid, control) in controls {
                let open = read(control, of: pid, into: &events)
                if !open {
                    control.close()
                    controls[pid] = nil
                    channelLost[pid] = .now
                }
            }
            events += reap()
            killDeaf()
            events += watchLifecycles()
            events += checkHealth()
            events.append(.tick(at: .now))
            for event in events {
                if let status = perform(machine.handle(event)) { return status }
            }
            for control in controls.values where control.hasPending { control.flush() }
        }
    }

    // MARK: Carrying out actions

    /// Carries out `actions`; the exit status when one of them ends the supervisor.
    private func perform(_ actions: [SupervisorStateMachine.Action]) -> Int32? {
        for action in actions {
            switch action {
            case .spawn(let slot, let successor):
                let event = spawn(slot: slot, successor: successor)
                if let status = perform(machine.handle(event)) { return status }
            case .send(let message, let pid):
                controls[pid]?.enqueue(message)
            case .signal(let signal, let pid):
                kill(pid, signal)
            case .journal(let line):
                do {
                    try CrashJournal.append(line: line, path: environment.journal)
                } catch {
                    logger.error("\(error)")
                }
            case .writeRoundReport(let report):
                do {
                    try environment.writeRoundReport(report)
                } catch {
                    logger.warning("\(error)")
                }
            case .log(let level, let message):
                logger.log(level: level, "\(message)")
            case .stopAndExit(let status):
                stopAll()
                environment.removePid()
                return status
            }
        }
        return nil
    }

    /// Turns what `pid` sent on `control` into events; false when the channel ended.
    private func read(_ control: ControlChannel, of pid: Int32, into events: inout [SupervisorStateMachine.Event]) -> Bool {
        let (messages, open) = control.receiveAvailable()
        for (message, descriptors) in messages {
            if case .committed = message, let descriptor = descriptors.first { keepCommitted(descriptor) }
            events.append(.message(message, from: pid, at: .now))
            if case .replaceMe(.hung) = message { events.append(.journalRead(CrashJournal.records(path: environment.journal), at: .now)) }
        }
        return open
    }

    /// Workers whose control channel ended a second ago and that still live (a plugin closed or
    /// broke it): they can no longer take part in rounds or answer questions, so they are killed,
    /// and their slots restart as for any death.
    private func killDeaf() {
        let now = ContinuousClock.now
        for (pid, since) in channelLost where now - since > .seconds(1) {
            channelLost[pid] = nil
            guard kill(pid, 0) == 0 else { continue }
            logger.error("worker \(pid) closed its control channel but lives on: killing it")
            kill(pid, SIGKILL)
        }
    }

    /// Starts a worker for `slot`: its pid, or why it could not start.
    private func spawn(slot: Int, successor: Bool) -> SupervisorStateMachine.Event {
        guard let (mine, theirs) = ControlChannel.pair() else {
            return .spawnFailed(slot: slot, successor: successor, reason: "no control channel: \(String(cString: strerror(errno)))", at: .now)
        }
        defer { theirs.close() }
        guard let page = CallPage() else {
            mine.close()
            return .spawnFailed(slot: slot, successor: successor, reason: "no in-flight record page: \(String(cString: strerror(errno)))", at: .now)
        }
        // The worker's own health socket (abstract: nothing on disk); only the worker keeps it open.
        healthSerial += 1
        let healthName = "plughost/\(getpid())/health/\(healthSerial)"
        let healthSocket = ph_listen_abstract(healthName, 16)
        guard healthSocket >= 0 else {
            mine.close()
            return .spawnFailed(slot: slot, successor: successor, reason: "no health socket: \(String(cString: strerror(errno)))", at: .now)
        }
        defer { close(healthSocket) }
        var extra = environment.environment
        extra["PLUGHOST_SUPERVISOR_PID"] = String(getpid())
        extra[WorkerDescriptors.slotVariable] = String(slot)
        if successor { extra[WorkerDescriptors.successorVariable] = "1" }
        if committed >= 0 { extra[WorkerDescriptors.committedVariable] = "1" }
        let argv = [environment.executable] + environment.arguments
        let envp = ChildEnvironment.make(extra)
        let fds: [Int32] = [sockets[slot], theirs.descriptor, page.descriptor, healthSocket, committed, cache?.descriptor ?? -1]
        let targets: [Int32] = [WorkerDescriptors.socket, WorkerDescriptors.control, WorkerDescriptors.callPage, WorkerDescriptors.health,
                                WorkerDescriptors.committed, WorkerDescriptors.cache]
        let pid = CStrings.with(argv) { cArgv in
            CStrings.with(envp) { cEnvp in ph_spawn_worker_with(environment.executable, cArgv, cEnvp, fds, targets, Int32(fds.count)) }
        }
        guard pid > 0 else {
            mine.close()
            return .spawnFailed(slot: slot, successor: successor, reason: String(cString: strerror(errno)), at: .now)
        }
        controls[pid] = mine
        pages[pid] = page
        health[pid] = HealthCheck(name: healthName)
        return .spawned(slot: slot, pid: pid, successor: successor, at: .now)
    }

    /// Keeps the committed builds' file a worker sent (the newest replaces the one before).
    private func keepCommitted(_ descriptor: Int32) {
        // High, so it never collides with a descriptor a worker expects at a fixed number.
        let high = ph_fd_move_high(descriptor)
        guard high >= 0 else { return }
        if committed >= 0 { close(committed) }
        committed = high
    }

    // MARK: Waiting and watching

    /// Waits up to `milliseconds` for a signal, a message or a writable channel; returns the signal that came (0 when none).
    private func waitForInput(signals: Int32, milliseconds: Int32) -> Int32 {
        var descriptors = [pollfd(fd: signals, events: Int16(POLLIN), revents: 0)]
        for control in controls.values {
            descriptors.append(pollfd(fd: control.descriptor, events: Int16(POLLIN) | (control.hasPending ? Int16(POLLOUT) : 0), revents: 0))
        }
        for check in health.values { if let fd = check.descriptor { descriptors.append(pollfd(fd: fd, events: check.pollEvents, revents: 0)) } }
        guard poll(&descriptors, nfds_t(descriptors.count), milliseconds) > 0, descriptors[0].revents != 0 else { return 0 }
        var sender: pid_t = 0
        return ph_supervisor_next_signal(signals, 0, &sender)
    }

    /// Every worker that exited, with its in-flight record and the journal as it is now.
    private func reap() -> [SupervisorStateMachine.Event] {
        var events: [SupervisorStateMachine.Event] = []
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            guard pid > 0 else { return events }
            let signal = status & 0x7f
            let termination: SupervisorStateMachine.Termination = signal != 0 ? .signaled(signal) : .exited((status >> 8) & 0xff)
            let evidence = pages.removeValue(forKey: pid)?.evidence() ?? .none
            // What it sent just before it ended (a start refusal, say) still counts.
            if let control = controls.removeValue(forKey: pid) {
                _ = read(control, of: pid, into: &events)
                control.close()
            }
            channelLost[pid] = nil
            health.removeValue(forKey: pid)?.close()
            events.append(.exited(pid: pid, termination, evidence: evidence, journal: CrashJournal.records(path: environment.journal), at: .now))
        }
    }

    /// Lifecycle calls running past their deadline in any live worker.
    private func watchLifecycles() -> [SupervisorStateMachine.Event] {
        let limit = machine.configuration.lifecycleTimeout
        var events: [SupervisorStateMachine.Event] = []
        for (pid, page) in pages {
            for call in page.inFlight() where call.timed {
                if let running = call.running, running > limit { events.append(.lifecycleOverdue(pid: pid, call: call, at: .now)) }
            }
        }
        return events
    }

    /// Drives each serving worker's health check; a worker silent for `worker-stall-ms` is reported.
    private func checkHealth() -> [SupervisorStateMachine.Event] {
        let stall = machine.configuration.workerStall
        let serving = Set(machine.servingPIDs)
        var events: [SupervisorStateMachine.Event] = []
        for (pid, check) in health {
            guard serving.contains(pid) else {
                check.reset()
                continue
            }
            let silence = check.advance(interval: stall / 3)
            if let silence, silence > stall {
                events.append(.stalled(pid: pid, silence: silence, resources: ResourceUsage(pid: pid).description, at: .now))
                check.reset()
            }
        }
        let now = ContinuousClock.now
        if now - lastResourceCheck > .seconds(5) {
            lastResourceCheck = now
            for pid in serving {
                let usage = ResourceUsage(pid: pid)
                if let warning = usage.warning { logger.warning("worker \(pid): \(warning)") }
            }
        }
        return events
    }

    /// SIGTERM to every worker, then wait for them, killing each one left past its time: the stop
    /// timeout, or sooner for a worker already being killed (a call in it hung).
    private func stopAll() {
        let pids = Set(machine.workerPIDs + Array(machine.retiring.keys) + Array(controls.keys))
        for pid in pids { kill(pid, SIGTERM) }
        let stopDeadline = ContinuousClock.now + machine.configuration.stopTimeout
        var left = pids
        while !left.isEmpty {
            for pid in left {
                var status: Int32 = 0
                let result = waitpid(pid, &status, WNOHANG)
                if result == pid || (result < 0 && errno == ECHILD) {
                    left.remove(pid)
                    continue
                }
                let deadline = min(machine.retiring[pid] ?? stopDeadline, stopDeadline)
                if ContinuousClock.now > deadline {
                    logger.error("worker \(pid) did not stop \(deadline < stopDeadline ? "after a hung call" : "within the drain time"): killing it")
                    kill(pid, SIGKILL)
                    waitpid(pid, &status, 0)
                    left.remove(pid)
                }
            }
            usleep(20_000)
        }
        for control in controls.values { control.close() }
        controls = [:]
    }
}

/// The descriptors a worker inherits from its supervisor, and the variables that describe them.
public enum WorkerDescriptors {
    /// The slot's listening TCP socket.
    public static let socket: Int32 = 3
    /// The control channel (``ControlChannel``).
    public static let control: Int32 = 4
    /// The in-flight record page (``CallPage``).
    public static let callPage: Int32 = 5
    /// The worker's health socket, which it serves from its event loops.
    public static let health: Int32 = 6
    /// The committed builds' bytes (``CommittedBuilds``), when `committedVariable` is set.
    public static let committed: Int32 = 7
    /// The host cache's store (``SharedCacheStore``), when the supervisor made one.
    public static let cache: Int32 = 8
    /// The worker's slot number ("0", "1", …): one worker per host does what one process must
    /// do for all (slot 0 watches the plugins folder for `--watch`).
    public static let slotVariable = "PLUGHOST_WORKER_SLOT"
    /// Set for a successor: its predecessor still accepts on the same socket.
    public static let successorVariable = "PLUGHOST_WORKER_SUCCESSOR"
    /// Set when the worker must start from the committed builds at ``committed``.
    public static let committedVariable = "PLUGHOST_WORKER_COMMITTED"

    /// Marks every inherited descriptor close-on-exec (the spawn's dup2 cleared it): a program a
    /// plugin starts must not inherit the listening socket, the control channel (the supervisor
    /// would miss its end when the worker dies), the call page or the cache.
    public static func closeOnExec() {
        for descriptor in [socket, control, callPage, health, committed, cache] {
            let flags = fcntl(descriptor, F_GETFD)
            if flags >= 0 { _ = fcntl(descriptor, F_SETFD, flags | FD_CLOEXEC) }
        }
    }
}
