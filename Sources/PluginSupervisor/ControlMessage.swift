public import PluginRuntime

/// Everything the supervisor and a worker say to each other: one value per
/// frame on their ``ControlChannel``, encoded as JSON.
///
/// Signals are used only where the operating system speaks them (SIGHUP,
/// SIGTERM, SIGCHLD, the deaths of workers); every request and answer between
/// the two processes is one of these.
public enum ControlMessage: Codable, Sendable, Equatable {
    // MARK: Supervisor to worker

    /// Build and start reload round `round`'s new generation off to the side, say ``prepared(round:)``, and
    /// wait for the verdict, at most `verdictWithin` (the round's deadline: past it the supervisor aborts).
    case prepare(round: Int, verdictWithin: Duration)
    /// Swap the prepared generation in.
    case commit(round: Int)
    /// Undo the prepared generation: the round failed elsewhere (`reason` says where).
    case abort(round: Int, reason: String)
    /// The whole round's report (for `POST /_plughost/reload`).
    case roundFinished(round: Int, report: ReloadRoundReport)
    /// What the supervisor knows that no worker does (for `/_plughost/plugins`).
    case view(SupervisorView)
    /// Send this worker's figures and listing (``snapshot(request:_:)``) for request `request`.
    case collect(request: Int)
    /// The whole host's figures and listings, answering a worker's ``askHost(request:)``.
    case host(request: Int, HostSnapshot)
    /// Stop accepting new connections (a successor takes over the socket); answer ``quiesced``.
    case quiesce
    /// Start accepting: the predecessor stopped (a successor waits for this).
    case acceptConnections

    // MARK: Worker to supervisor

    /// The worker's plugins run and it accepts connections.
    case serving
    /// A successor's plugins run; it accepts once told to (``acceptConnections``).
    case readyToServe
    /// This worker stopped accepting new connections, answering ``quiesce``.
    case quiesced
    /// The worker cannot start; `permanent` when a restart cannot change that (a `--strict`
    /// refusal, an invalid config, an unreadable plugins folder): the host then stops.
    case startRefused(reason: String, permanent: Bool)
    /// Run a reload round (SIGHUP to the worker, `POST /_plughost/reload`, `--watch`).
    case askReload
    /// Round `round`'s generation is built and started; waiting for the verdict.
    case prepared(round: Int)
    /// The worker's final report of round `round` (swapped, undone or failed).
    case finished(round: Int, report: ReloadReport)
    /// The builds this worker committed: the descriptor sent with this frame is a sealed
    /// in-memory file holding their bytes (``CommittedBuilds``), for replacements.
    case committed(builds: [CommittedBuild])
    /// Replace this worker (a successor first), for `reason`.
    case replaceMe(reason: ReplacementReason)
    /// Send the whole host's figures and listings (``host(request:_:)``).
    case askHost(request: Int)
    /// This worker's figures and listing, answering ``collect(request:)``.
    case snapshot(request: Int, WorkerSnapshot)
}

/// Why a worker asks to be replaced.
public enum ReplacementReason: String, Codable, Sendable, Equatable {
    /// It keeps more Swift images mapped than `[host] max-retained-images`.
    case retainedImages = "retained-images"
    /// A plugin call in it hung (journaled by the worker): killed once its successor serves.
    case hung
}

/// One build a committed generation runs: what the supervisor keeps to start replacements from.
public struct CommittedBuild: Codable, Sendable, Equatable {
    /// The plugin alias.
    public var alias: String
    /// Its library's SHA-256 (hex).
    public var sha256: String

    /// A committed build of `alias`.
    public init(alias: String, sha256: String) {
        self.alias = alias
        self.sha256 = sha256
    }
}
