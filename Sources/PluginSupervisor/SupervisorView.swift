public import PluginRuntime

/// What the supervisor knows that no worker does, as `/_plughost/plugins` shows it under `supervisor`.
public struct SupervisorView: Codable, Sendable, Equatable {
    /// One worker slot.
    public struct Worker: Codable, Sendable, Equatable {
        public var slot: Int
        public var pid: Int32
        public var serving: Bool
        public var restarts: Int
        /// A worker being started to take over from `pid`.
        public var successor: Int32?
    }

    /// One quarantined build.
    public struct Quarantined: Codable, Sendable, Equatable {
        public var alias: String
        public var sha256: String
        public var crashes: Int
        public var reason: String
    }

    /// The supervisor's pid.
    public var pid: Int32
    public var workers: [Worker]
    /// Journaled crashes and hangs by alias (all time, lifts included).
    public var crashes: [String: Int]
    /// The hangs among them (`signal=HANG`), by alias.
    public var hangs: [String: Int]
    public var quarantined: [Quarantined]
    /// Reload rounds begun.
    public var reloadRounds: Int
    /// Workers that ended (died, or were replaced) since the host started.
    public var endedWorkers: Int

    private enum CodingKeys: String, CodingKey {
        case pid, workers, crashes, hangs, quarantined
        case reloadRounds = "reload_rounds", endedWorkers = "ended_workers"
    }

    /// The view of `slots`, the journal's `records` and the `quarantine` they decide.
    init(supervisor: Int32, slots: [SupervisorStateMachine.Slot], quarantine: QuarantineList, records: [CrashRecord],
         lastRound: Int, endedWorkers: Int) {
        pid = supervisor
        workers = slots.enumerated().map { index, slot in
            Worker(slot: index, pid: slot.pid, serving: slot.serving, restarts: slot.restarts, successor: slot.successor > 0 ? slot.successor : nil)
        }
        var counts: [String: Int] = [:]
        var hangCounts: [String: Int] = [:]
        for record in records where !record.isLift {
            for alias in (record.alias ?? "-").split(separator: ",") {
                counts[String(alias), default: 0] += 1
                if record.signal == "HANG" { hangCounts[String(alias), default: 0] += 1 }
            }
        }
        crashes = counts
        hangs = hangCounts
        quarantined = quarantine.builds.values.joined().sorted { ($0.alias, $0.sha256) < ($1.alias, $1.sha256) }.map {
            Quarantined(alias: $0.alias, sha256: $0.sha256, crashes: $0.crashes, reason: $0.reason)
        }
        reloadRounds = lastRound
        self.endedWorkers = endedWorkers
    }

    /// One JSON object, keys sorted.
    public var json: String { SortedJSON.text(of: self) }
}

/// One worker's figures and listing, collected for a view of the whole host.
public struct WorkerSnapshot: Codable, Sendable, Equatable {
    /// The worker.
    public var pid: Int32
    /// Its metrics in Prometheus' text format.
    public var metrics: String
    /// Its `/_plughost/plugins` listing (a JSON object).
    public var listing: String

    /// A snapshot of worker `pid`.
    public init(pid: Int32, metrics: String, listing: String) {
        self.pid = pid
        self.metrics = metrics
        self.listing = listing
    }
}

/// The whole host, as the supervisor put it together for one worker's question.
public struct HostSnapshot: Codable, Sendable, Equatable {
    /// Every live worker's snapshot that answered in time (their metrics are in ``metrics``).
    public var workers: [WorkerSnapshot]
    /// The host's metrics: counters summed over the live workers plus what ended workers had
    /// counted, gauges labelled by worker (see ``MetricsMerge``).
    public var metrics: String
    /// Live workers that did not answer in time.
    public var missing: [Int32]

    /// A snapshot of `workers` with the merged `metrics`.
    public init(workers: [WorkerSnapshot], metrics: String, missing: [Int32]) {
        self.workers = workers
        self.metrics = metrics
        self.missing = missing
    }
}
