public import Logging
public import PluginRuntime

/// Every decision of the supervisor, and nothing else: an event goes in
/// (a worker started, said something, died; a signal; the clock), actions
/// come out (start a worker, send a message, journal a death, stop). The
/// ``Supervisor`` does the I/O around it; tests drive it without processes.
///
/// The rules it keeps:
/// - **Slots.** One worker per slot; one that dies is replaced at once the
///   first time, then after a delay that doubles (up to 5 s) while
///   replacements keep dying within 10 s of their start.
/// - **Giving up.** A worker that refuses to start for a reason a restart
///   cannot change, or that dies ``Configuration/startAttempts`` times in a row
///   before it ever served (deaths charged to a plugin excepted: those lead to
///   its quarantine), stops the host with a non-zero status.
/// - **Attribution.** A death the worker could not journal itself is journaled
///   here from its in-flight record: charged to the plugin the exiting or
///   faulting thread was calling, else to the only call in flight, else
///   unattributed with every call in flight listed.
/// - **Quarantine.** Decided from the journal (``QuarantineList``); a newly
///   quarantined build that a committed generation runs makes every worker reload.
/// - **Hangs and stalls.** A lifecycle call past its deadline is journaled as
///   a hang of its plugin, fails the round it holds up, and its worker is
///   replaced; so is a serving worker that stopped answering health checks.
/// - **Reload rounds.** Prepare everywhere, then commit everywhere, or abort
///   everywhere when one worker failed, died or hung.
public struct SupervisorStateMachine: Sendable {
    /// The clock every event is stamped with.
    public typealias Instant = ContinuousClock.Instant

    /// What the rules depend on.
    public struct Configuration: Sendable {
        /// Worker slots.
        public var workers: Int
        /// The supervisor's pid (for the view).
        public var supervisorPID: Int32
        /// Crashes of one build within ``crashWindow`` seconds that quarantine it.
        public var crashLimit: Int
        public var crashWindow: Int
        /// How long a lifecycle call may run.
        public var lifecycleTimeout: Duration
        /// How long a serving worker may leave its health check unanswered.
        public var workerStall: Duration
        /// How long a worker asked to stop gets before it is killed.
        public var stopTimeout: Duration
        /// Deaths in a row before a worker ever served that stop the host.
        public var startAttempts: Int
        /// How long a round may take before workers that did not answer count as failed; also
        /// how long a worker may take to start serving (a start runs the same calls as a round).
        public var roundDeadline: Duration
        /// How long a question for the whole host's figures waits for the workers.
        public var collectTimeout: Duration = .seconds(2)

        /// The rules `config` sets for `workers` slots.
        public init(workers: Int, supervisorPID: Int32, config: HostConfig) {
            self.workers = workers
            self.supervisorPID = supervisorPID
            crashLimit = config.crashLimit
            crashWindow = config.crashWindowSeconds
            lifecycleTimeout = config.lifecycleTimeout
            workerStall = config.workerStall
            stopTimeout = config.drainTimeout + .seconds(5)
            startAttempts = config.startAttempts
            roundDeadline = Self.roundDeadline(for: config)
        }

        /// How long a reload round may take under `config`: a drain, three lifecycle calls'
        /// worth, and a minute for the rest. Workers bound their own waits by it too.
        public static func roundDeadline(for config: HostConfig) -> Duration {
            config.drainTimeout + config.lifecycleTimeout * 3 + .seconds(60)
        }
    }

    /// How a worker ended.
    public enum Termination: Sendable, Equatable {
        /// It exited with this status.
        case exited(Int32)
        /// A signal ended it.
        case signaled(Int32)
    }

    /// What happened.
    public enum Event: Sendable {
        /// The supervisor begins: start every slot.
        case begin(at: Instant)
        /// A worker process was started for `slot`.
        case spawned(slot: Int, pid: Int32, successor: Bool, at: Instant)
        /// A worker for `slot` (a successor when `successor`) could not be started.
        case spawnFailed(slot: Int, successor: Bool, reason: String, at: Instant)
        /// Worker `from` sent `message`.
        case message(ControlMessage, from: Int32, at: Instant)
        /// Worker `pid` ended; `evidence` is its in-flight record, `journal` the whole crash journal now.
        case exited(pid: Int32, Termination, evidence: DeathEvidence, journal: [CrashRecord], at: Instant)
        /// The crash journal was read again (a worker journaled a hang).
        case journalRead([CrashRecord], at: Instant)
        /// SIGHUP.
        case hangUp(at: Instant)
        /// SIGTERM or SIGINT.
        case terminate(at: Instant)
        /// Worker `pid` has had `call` running past the lifecycle timeout.
        case lifecycleOverdue(pid: Int32, call: InFlightCall, at: Instant)
        /// Serving worker `pid` has not answered a health check for `silence`; `resources` describes what it holds.
        case stalled(pid: Int32, silence: Duration, resources: String, at: Instant)
        /// Time passed.
        case tick(at: Instant)
    }

    /// What to do.
    public enum Action: Sendable, Equatable {
        /// Start a worker for `slot` (a successor shares a serving predecessor's socket).
        case spawn(slot: Int, successor: Bool)
        /// Send `message` to worker `to`.
        case send(ControlMessage, to: Int32)
        /// Send signal `signal` to process `to`.
        case signal(Int32, to: Int32)
        /// Append `line` to the crash journal.
        case journal(String)
        /// Write the round's report beside the pid file.
        case writeRoundReport(ReloadRoundReport)
        /// Log `message` at `level`.
        case log(Logger.Level, String)
        /// Stop every worker (drain, then kill past the stop timeout), then exit with `status`.
        case stopAndExit(status: Int32)
    }

    /// One worker slot: the process running in it and how it has been faring.
    public struct Slot: Sendable, Equatable {
        /// The worker (0 while none runs).
        public var pid: Int32 = 0
        /// It said it serves: it takes part in rounds and is health-checked.
        public var serving = false
        /// A worker started to take over from `pid`, until it serves.
        public var successor: Int32 = 0
        /// Why `pid` is being replaced (a hung or stalled one is killed once the successor serves).
        public var replacing: ReplacementReason?
        /// Restarts of this slot so far.
        public var restarts = 0
        var startedAt: Instant?
        var successorStartedAt: Instant?
        var restartDelay: Duration = .zero
        var restartAt: Instant?
        /// A spawn was asked for and has not been answered.
        var spawning = false
        /// Deaths in a row before serving, not charged to a plugin.
        var failedStarts = 0
        /// The pid was killed here (a hang before it served): its death is no news.
        var killed = false
        /// Until when the successor (ready to serve) waits for `pid` to stop accepting.
        var handoverDeadline: Instant?
        /// When to start a successor again after one failed to start, died or hung (while `replacing`).
        var successorDueAt: Instant?
        /// Successors that failed in a row: the next waits 1 s, 2 s, … up to 30 s.
        var failedSuccessors = 0
    }

    /// The configuration in force.
    public let configuration: Configuration
    /// The worker slots.
    public internal(set) var slots: [Slot]
    /// Workers asked to stop (replaced), with when to kill one that has not exited.
    public internal(set) var retiring: [Int32: Instant] = [:]
    /// Workers killed here (a replaced one that did not exit, a successor that hung or never
    /// served): their deaths are no news.
    var killedRetiring: Set<Int32> = []
    /// The crash journal as last read, plus the lines written here since.
    public internal(set) var records: [CrashRecord]
    /// What the journal quarantines now.
    public internal(set) var quarantine: QuarantineList
    /// The builds the last committed generation runs (from a worker's `committed` message).
    public internal(set) var committedBuilds: [CommittedBuild] = []
    /// The round under way.
    var round: RoundState?
    /// Rounds begun so far.
    public internal(set) var lastRound = 0
    var roundPending = false
    var lastRoundStartedAt: Instant?
    /// Lifecycle hangs already acted on, by worker and thread (a worker's go when it ends).
    var overdueSeen: Set<String> = []
    /// Journal lines in the file as last read, and the lines written here since that
    /// read has not shown yet (an append that failed, or one not read back yet).
    var journalLinesRead = 0
    var ownLines: [CrashRecord] = []
    /// The last line each process wrote itself (a worker's crash or exit handler), read since the
    /// start: a worker's death is journaled here only when it wrote none, however early the
    /// supervisor read the line (a change of the file is read at once, before the worker is reaped).
    var linesByPid: [Int32: CrashRecord] = [:]
    /// Questions for the whole host's figures under way.
    var collections: [Int: Collection] = [:]
    var nextCollection = 0
    /// The last figures each live worker sent, and the counters of workers that ended.
    var lastSnapshots: [Int32: WorkerSnapshot] = [:]
    var retiredMetrics = MetricsMerge.Totals()
    /// Workers that ended since the start.
    public internal(set) var endedWorkers = 0
    /// Whether the view workers show changed since it was last sent.
    var viewChanged = true
    /// The host is stopping: nothing is restarted any more.
    public internal(set) var stopping = false

    /// A machine for `configuration`, with the crash journal's `records` as they are.
    public init(configuration: Configuration, records: [CrashRecord]) {
        self.configuration = configuration
        slots = Array(repeating: Slot(), count: configuration.workers)
        self.records = records
        journalLinesRead = records.count
        quarantine = QuarantineList.evaluate(records, limit: configuration.crashLimit, window: configuration.crashWindow)
    }

    /// Takes `event` in and returns what to do about it, in order.
    public mutating func handle(_ event: Event) -> [Action] {
        var actions: [Action] = []
        switch event {
        case .begin(let now):
            for index in slots.indices { actions += spawn(index, at: now) }
        case .spawned(let slot, let pid, let successor, let now):
            spawned(slot, pid: pid, successor: successor, at: now)
        case .spawnFailed(let slot, let successor, let reason, let now):
            actions += spawnFailed(slot, successor: successor, reason: reason, at: now)
        case .message(let message, let pid, let now):
            actions += received(message, from: pid, at: now)
        case .exited(let pid, let termination, let evidence, let journal, let now):
            actions += exited(pid, termination, evidence: evidence, journal: journal, at: now)
        case .journalRead(let journal, let now):
            _ = readJournal(journal)
            actions += quarantineIfDue(at: now)
        case .hangUp(let now):
            actions.append(.log(.info, "SIGHUP: reloading every worker"))
            actions += startRound(at: now)
        case .terminate:
            stopping = true
            actions.append(.log(.info, "shutting down: stopping \(slots.filter { $0.pid > 0 }.count) worker(s)"))
            actions.append(.stopAndExit(status: 0))
        case .lifecycleOverdue(let pid, let call, let now):
            actions += lifecycleOverdue(pid, call: call, at: now)
        case .stalled(let pid, let silence, let resources, let now):
            actions += stalled(pid, silence: silence, resources: resources, at: now)
        case .tick(let now):
            actions += tick(at: now)
        }
        if viewChanged && !stopping {
            viewChanged = false
            let view = self.view
            actions += workerPIDs.map { .send(.view(view), to: $0) }
        }
        return actions
    }

    /// The view workers show under `supervisor` in `/_plughost/plugins`.
    public var view: SupervisorView {
        SupervisorView(supervisor: configuration.supervisorPID, slots: slots, quarantine: quarantine, records: records,
                       lastRound: lastRound, endedWorkers: endedWorkers)
    }

    /// Every live worker: slots' workers and their successors (not the retiring ones).
    public var workerPIDs: [Int32] {
        slots.flatMap { [$0.pid, $0.successor] }.filter { $0 > 0 }
    }

    /// The serving workers the supervisor health-checks.
    public var servingPIDs: [Int32] {
        slots.filter { $0.serving && $0.pid > 0 }.map(\.pid)
    }

    /// The slot whose worker or successor is `pid`.
    func slotIndex(of pid: Int32) -> Int? {
        slots.firstIndex { $0.pid == pid || $0.successor == pid }
    }
}
