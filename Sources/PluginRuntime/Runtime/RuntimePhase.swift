/// Where a runtime stands, each phase carrying the data it has: the config it
/// will start with, what it runs, or what it left behind.
///
/// ``PluginRuntime`` keeps one in a `Mutex` and holds it for the whole of a
/// start, reload or shutdown, so those run one at a time and see a phase no
/// other one is halfway through changing (see ``PluginRuntime/control``).
enum RuntimePhase: Sendable {
    /// Created, not started yet: only the host config to start with.
    case idle(HostConfig)
    /// Started: a generation serves (see ``RunningState``).
    case running(RunningState)
    /// Shut down, or a strict start refused: never starts again.
    case stopped(StoppedState)

    /// The host config in force.
    var config: HostConfig {
        switch self {
        case .idle(let config): config
        case .running(let running): running.config
        case .stopped(let stopped): stopped.config
        }
    }

    /// The statuses of the last start, successful reload or shutdown.
    var statuses: [PluginStatus] {
        switch self {
        case .idle: []
        case .running(let running): running.statuses
        case .stopped(let stopped): stopped.statuses
        }
    }

    /// Replaced generations still draining after the timeout (a shutdown keeps those it could not destroy).
    var lingering: [LingeringGeneration] {
        switch self {
        case .idle: []
        case .running(let running): running.ledger.lingering
        case .stopped(let stopped): stopped.lingering
        }
    }

    /// Takes `generation` out of the lingering ones, if it is still there (a shutdown may have destroyed it meanwhile).
    mutating func removeLingering(_ generation: Generation) -> LingeringGeneration? {
        switch self {
        case .idle:
            return nil
        case .running(var running):
            guard let index = running.ledger.lingering.firstIndex(where: { $0.generation === generation }) else { return nil }
            let lingering = running.ledger.lingering.remove(at: index)
            self = .running(running)
            return lingering
        case .stopped(var stopped):
            guard let index = stopped.lingering.firstIndex(where: { $0.generation === generation }) else { return nil }
            let lingering = stopped.lingering.remove(at: index)
            self = .stopped(stopped)
            return lingering
        }
    }
}

/// What a stopped runtime still has: its last config and statuses for readers,
/// and the generations whose requests outlived the drain timeout.
struct StoppedState: Sendable {
    /// The host config it ran with.
    var config: HostConfig
    /// Its aliases' statuses, the running ones marked stopped.
    var statuses: [PluginStatus] = []
    /// Generations whose plugins are stopped but not destroyed: a reload's
    /// background drain still destroys those it retired; a shutdown's never are.
    var lingering: [LingeringGeneration] = []
}
