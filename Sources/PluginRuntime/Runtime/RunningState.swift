/// What a running runtime has: the generation it serves, the config that
/// built it, and what start and the reloads since learnt.
struct RunningState: Sendable {
    /// The host config of the running generation.
    var config: HostConfig
    /// The generation being served.
    var generation: Generation
    /// Generations, failures and leftovers kept across generations.
    var ledger: Ledger
    /// Problems and warnings already reported: a reload fails only on new ones.
    var knownProblems: Set<PluginError>
    /// The statuses of the last start or successful reload, before the reload report.
    var statuses: [PluginStatus] = []
}

/// What the control side keeps across generations: the generations it keeps
/// allocated, the aliases that failed, and what it must still destroy or close.
/// A start fills one before its first generation exists; the running state carries it on.
struct Ledger: Sendable {
    /// How many retired generations stay allocated after their drain.
    static let retiredGenerationsKept = 4

    /// The number the next generation gets.
    var nextNumber = 1
    /// Generations kept alive: the current one, those built during start, and
    /// the last few retired ones (a reader may still hold a pointer it has not counted yet).
    var alive: [Generation] = []
    /// Enabled aliases that failed, by alias.
    var failed: [String: FailedPlugin] = [:]
    /// Instances whose `start` failed: destroyed when their alias is rebuilt, removed, or at shutdown.
    var startFailed: [PluginInstance] = []
    /// Replaced generations still draining after the timeout, with their stopped instances.
    var lingering: [LingeringGeneration] = []
    /// Libraries of plugins whose `create` failed, closed at shutdown (the plugin may have left threads).
    var abandonedLibraries: [PluginLibrary] = []

    /// Keeps `generation` alive and drops the oldest retired ones (all but `current`) beyond the allowance.
    mutating func keepAlive(_ generation: Generation, current: Generation) {
        alive.append(generation)
        let retired = alive.filter { $0 !== current }
        if retired.count > Self.retiredGenerationsKept {
            let dropped = Set(retired.prefix(retired.count - Self.retiredGenerationsKept).map(ObjectIdentifier.init))
            alive.removeAll { dropped.contains(ObjectIdentifier($0)) }
        }
    }

    /// Whether `alias` still fails as recorded: enabled, failed, and not running.
    func stillFails(_ alias: String, plan: LoadPlan, running: Set<String>) -> Bool {
        !running.contains(alias) && failed[alias] != nil && plan.enabled.contains { $0.alias == alias }
    }

    /// Drops the failures of aliases that now run or are no longer enabled.
    mutating func forgetFailures(except plan: LoadPlan, running: Set<String>) {
        let enabled = Set(plan.enabled.map(\.alias))
        failed = failed.filter { enabled.contains($0.key) && !running.contains($0.key) }
    }
}
