import Dispatch
public import Logging
import Synchronization

/// Discovers, loads, starts, reloads and stops plugins; embeddable in any Swift program.
///
/// ```swift
/// let runtime = PluginRuntime(pluginsDirectory: "plugins", config: try HostConfig.load(path: "plughost.toml"))
/// try runtime.start()
/// runtime.withCurrentGeneration { $0.publish(EventNames.shared.id(for: "app.ready")!, text: "hello") }
/// print(runtime.reload())          // after plugins changed on disk
/// runtime.shutdown()
/// ```
///
/// A plugin that fails anywhere (manifest, library, ABI, config, create,
/// start) is reported in ``statuses`` and left out; the others run. With
/// `strict`, any failure stops the start instead. A ``reload()`` swaps in a
/// new generation only if everything in it succeeded.
public final class PluginRuntime: Sendable {
    /// Thrown by ``start(strict:)`` in strict mode, or when started twice.
    public struct StartFailure: Error, CustomStringConvertible {
        /// Every problem found, one per file or alias.
        public var problems: [PluginError]
        /// One line per problem.
        public var description: String { problems.map(\.description).joined(separator: "\n") }
    }

    /// What status readers see; updated at the end of each start, reload and shutdown.
    struct Published {
        var config: HostConfig
        var statuses: [PluginStatus] = []
        var lastReload: ReloadReport?
        /// The last ``PluginRuntime/recentReloadsKept`` reports, oldest first.
        var recentReloads: [ReloadReport] = []
        var reloads = 0
        var retainedSwiftImages = 0
        var lingering = 0
        /// The manifests the serving generation was built from, as read.
        var committedManifests: [String: [UInt8]] = [:]
    }

    /// The plugins folder.
    public let pluginsDirectory: String
    /// The extensions plugins can look up (`get_extension`), in the order given.
    public var extensions: [any HostExtension] { extensionSet.extensions }
    let extensionSet: ExtensionSet
    let logger: Logger
    /// Where the runtime stands. Start, reload and shutdown hold this lock while
    /// they change it, one at a time (see ``operations``).
    ///
    /// It cannot deadlock with the plugin code they call: the host API a plugin
    /// calls back into on the same thread (`publish`, `check`, `get_service`,
    /// the cache, registrations) reads the generation slots and the plugin's
    /// context, never this lock, and so do the readers of the public API
    /// (``statuses`` and the others read `published`, ``generation`` the slot).
    /// Lock order is `control`, then `published`; nothing takes them the other
    /// way round. The only other taker is a reload's background drain, on its
    /// own thread, holding nothing while it waits. (Being non-recursive, a
    /// same-thread re-entry would trap or hang rather than nest; nothing re-enters.)
    let control: Mutex<RuntimePhase>
    /// Start, reload and shutdown take this token for their whole length, so they
    /// run one at a time; a prepared reload keeps it from ``prepareReload()`` until
    /// its verdict and drain are done, without holding ``control`` meanwhile.
    let operations = DispatchSemaphore(value: 1)
    /// The generation requests are served from.
    let slot = GenerationSlot()
    let published: Mutex<Published>
    /// The crash journal and guard book that quarantine reads and writes, when the host keeps them.
    public let containment: ContainmentFiles?
    /// What each plugin guarded when it last served (nil without ``containment``).
    let guardBook: GuardBook?
    /// Reloads and gauges through swift-metrics.
    let metrics = RuntimeMetrics()
    /// Replaced generations a reload is waiting for now (their requests, up to the drain timeout).
    let draining = Atomic<Int>(0)

    /// Creates a runtime; nothing is loaded until ``start(strict:)``.
    /// - Parameters:
    ///   - config: The host config; a reload reads it again from its ``HostConfig/path`` when it has one.
    ///   - extensions: Host extensions plugins can look up by id (the HTTP one, `plughost.http/1`, for a host that serves HTTP).
    ///   - containment: The crash journal that quarantines plugins, and where their guards are kept; nil quarantines nothing.
    public init(pluginsDirectory: String, config: HostConfig = HostConfig(), extensions: [any HostExtension] = [],
                containment: ContainmentFiles? = nil, logger: Logger = Logger(label: "plughost")) {
        self.pluginsDirectory = pluginsDirectory
        self.containment = containment
        self.guardBook = containment.map { GuardBook(path: $0.guards) }
        self.extensionSet = ExtensionSet(extensions)
        self.logger = logger
        self.control = Mutex(.idle(config))
        self.published = Mutex(Published(config: config))
    }

    /// The host config in force (the one the last successful reload read).
    public var config: HostConfig { published.withLock { $0.config } }

    /// The generation serving now, uncounted: fine for reading its tables in a
    /// program that never reloads; otherwise use ``withCurrentGeneration(_:)``,
    /// which keeps a reload from stopping its plugins while `body` runs.
    public var generation: Generation? { slot.snapshot }

    /// Runs `body` on the generation serving now, counted as in flight on it:
    /// a reload that retires it waits until `body` returns. Nil when not running.
    @inline(__always)
    public func withCurrentGeneration<R, E: Error>(_ body: (Generation) throws(E) -> R) throws(E) -> R? {
        try slot.withCurrent(body)
    }

    /// The generation serving now, counted as in flight until ``GenerationLease/release()``:
    /// for work that leaves this thread (a request handed to a thread pool). Nil when not running.
    public func leaseCurrentGeneration() -> GenerationLease? {
        slot.acquire().map(GenerationLease.init)
    }

    /// The state of every alias and every refused file, in a stable order.
    public var statuses: [PluginStatus] {
        published.withLock { $0.statuses }.map { status in
            guard let isolation = status.isolation, isolation.handle != 0 else { return status }
            var live = status
            live.isolation = isolation.refreshed()
            return live
        }
    }

    /// The outcome of the last reload, or nil before the first.
    public var lastReload: ReloadReport? { published.withLock { $0.lastReload } }

    /// How many reports ``recentReloads`` keeps.
    public static let recentReloadsKept = 10

    /// The last reloads' reports (up to ``recentReloadsKept``), oldest first.
    public var recentReloads: [ReloadReport] { published.withLock { $0.recentReloads } }

    /// Replaced generations whose in-flight requests a reload is waiting for now (within the drain timeout).
    public var drainingGenerations: Int { draining.load(ordering: .relaxed) }

    /// Swift plugin images that stay mapped after their plugins were unloaded (never `dlclose`d, see docs/ARCHITECTURE.md).
    public var retainedSwiftImages: Int { published.withLock { $0.retainedSwiftImages } }

    /// Loads and validates every plugin without creating any (for `list` and `check`).
    ///
    /// Each library is opened, its ABI checked and its config validated, then
    /// closed again (a Swift one stays mapped).
    /// - Parameter quarantine: Builds quarantined by the crash journal: reported as such, not loaded.
    public static func inspect(pluginsDirectory: String, config: HostConfig, quarantine: QuarantineList = .none) -> [PluginStatus] {
        inspect(catalog: PluginCatalog.scan(directory: pluginsDirectory, strictPermissions: config.strictPermissions), config: config,
                quarantine: quarantine)
    }

    static func inspect(catalog: PluginCatalog, config: HostConfig, quarantine: QuarantineList = .none) -> [PluginStatus] {
        let plan = LoadPlan.make(catalog: catalog, config: config)
        var statuses = (catalog.problems + plan.problems).map(PluginStatus.init(problem:))
        let quarantined = quarantine.failures(of: plan.enabled, config: config)
        let pass = LibraryPass(policy: LoadPolicy(config), planned: plan.enabled.filter { quarantined[$0.alias] == nil })
        defer { pass.finish() }
        for entry in plan.enabled {
            if let failure = quarantined[entry.alias] {
                statuses.append(PluginStatus(entry: entry, state: .quarantined, error: failure.error))
                continue
            }
            do {
                let prepared = try PreparedPlugin.prepare(entry, config: config, in: pass)
                var status = PluginStatus(entry: entry, state: .loaded, version: prepared.loaded.version, abi: prepared.loaded.abi)
                status.isolation = IsolationStatus(mode: config.isolation(of: entry.alias).mode.rawValue)
                statuses.append(status)
                prepared.loaded.library.release()
            } catch {
                statuses.append(PluginStatus(entry: entry, state: .failed, error: error))
            }
        }
        statuses += plan.disabled.map { PluginStatus(entry: $0, state: .disabled) }
        return statuses
    }

    /// Discovers, loads and validates every plugin, creates them in config
    /// order, fires pre-start, starts them, fires plugin-loaded for each and post-start.
    /// - Parameter strict: Refuse to start (and undo everything) if any plugin or file fails.
    public func start(strict: Bool = false) throws(StartFailure) {
        operations.wait()
        let refused = control.withLock { phase -> [PluginError]? in
            guard case .idle(let config) = phase else {
                return [PluginError(.alreadyStarted, file: pluginsDirectory, reason: "a runtime starts once; create a new one")]
            }
            let ((next, refused), manifests) = TOMLReadRecorder.recording { startAlone(config, strict: strict) }
            if refused == nil || !strict { published.withLock { $0.committedManifests = manifests } }
            phase = next
            return refused
        }
        operations.signal()
        if let refused {
            if strict && refused.first?.code != .alreadyStarted { shutdown() }
            throw StartFailure(problems: refused)
        }
    }

    /// Fires pre-shutdown, stops the running plugins in reverse order (each
    /// preceded by plugin-unloaded), fires post-shutdown, destroys every
    /// instance and unloads C libraries. Waits for a reload in progress and for
    /// requests still running (up to the drain timeout). Safe to call more than once.
    public func shutdown() {
        operations.wait()
        defer { operations.signal() }
        control.withLock { phase in
            guard case .running(let running) = phase else { return }
            phase = .stopped(shutdownAlone(running))
        }
    }
}
