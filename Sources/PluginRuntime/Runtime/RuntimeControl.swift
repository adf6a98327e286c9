/// What identifies one build of one plugin as configured: a reload rebuilds
/// a plugin whose fingerprint changed and leaves the others alone.
struct PluginFingerprint: Equatable {
    /// The manifest line (alias, library, symbol, manifest version).
    let entry: EntryPoint
    /// SHA-256 of the library file, or why it could not be read.
    let contentHash: String
    /// The `[plugin.ALIAS]` table.
    let config: [String: ConfigValue]

    /// The fingerprint of a running instance.
    init(_ instance: PluginInstance) {
        entry = instance.loaded.entry
        contentHash = instance.loaded.contentHash
        config = instance.configTable
    }

    /// The fingerprint of `entry` as it is on disk now, configured by `config`.
    init(_ entry: EntryPoint, config: HostConfig) {
        self.entry = entry
        do {
            contentHash = try ShadowCopy.digest(of: entry.libraryPath).hex
        } catch {
            contentHash = "unreadable: \(error.description)"
        }
        self.config = config.pluginConfigs[entry.alias] ?? [:]
    }
}

/// An enabled alias that failed to load, create or start, and the build that failed:
/// a reload tries it again only once its library or config changed.
struct FailedPlugin {
    let entry: EntryPoint
    let fingerprint: PluginFingerprint
    let error: PluginError
}

/// The state only start, reload and shutdown touch, one at a time.
final class RuntimeControl: @unchecked Sendable {
    // @unchecked Sendable: every member is read and written only inside `run`,
    // which holds the lock.

    enum Phase { case idle, running, stopped }

    private let lock = PluginLock()
    var phase = Phase.idle
    /// The host config of the running generation.
    var config: HostConfig
    /// The generation being served.
    var generation: Generation?
    /// Generations kept alive: the current one, those built during start, and
    /// the last few retired ones (a reader may still hold a pointer it has not counted yet).
    var alive: [Generation] = []
    /// The number the next generation gets.
    var nextNumber = 1
    /// Enabled aliases that failed, by alias.
    var failed: [String: FailedPlugin] = [:]
    /// Instances whose `start` failed: destroyed when their alias is rebuilt, removed, or at shutdown.
    var startFailed: [PluginInstance] = []
    /// Replaced generations still draining after the timeout, with their stopped instances.
    var lingering: [LingeringGeneration] = []
    /// Libraries of plugins whose `create` failed, closed at shutdown (the plugin may have left threads).
    var abandonedLibraries: [PluginLibrary] = []
    /// Problems and warnings already reported: a reload fails only on new ones.
    var knownProblems: Set<PluginError> = []
    /// The statuses of the last start or successful reload, before the reload report.
    var statuses: [PluginStatus] = []

    init(config: HostConfig) {
        self.config = config
    }

    /// Runs `body` alone: no other start, reload or shutdown runs meanwhile.
    func run<T>(_ body: (RuntimeControl) -> T) -> T {
        lock.withLock { body(self) }
    }

    /// How many retired generations stay allocated after their drain.
    static let retiredGenerationsKept = 4

    /// Keeps `generation` alive and drops the oldest retired ones beyond the allowance.
    func keepAlive(_ generation: Generation) {
        alive.append(generation)
        let retired = alive.filter { $0 !== self.generation }
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
    func forgetFailures(except plan: LoadPlan, running: Set<String>) {
        let enabled = Set(plan.enabled.map(\.alias))
        failed = failed.filter { enabled.contains($0.key) && !running.contains($0.key) }
    }
}
