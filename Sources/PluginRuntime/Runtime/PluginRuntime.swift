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
        var reloads = 0
        var retainedSwiftImages = 0
        var lingering = 0
    }

    /// The plugins folder.
    public let pluginsDirectory: String
    /// The extensions plugins can look up (`get_extension`), in the order given.
    public var extensions: [any HostExtension] { extensionSet.extensions }
    let extensionSet: ExtensionSet
    let logger: Logger
    /// Start, reload and shutdown, one at a time.
    let control: RuntimeControl
    /// The generation requests are served from.
    let slot = GenerationSlot()
    let published: Mutex<Published>

    /// Creates a runtime; nothing is loaded until ``start(strict:)``.
    /// - Parameters:
    ///   - config: The host config; a reload reads it again from its ``HostConfig/path`` when it has one.
    ///   - extensions: Host extensions plugins can look up by id (the HTTP one, `plughost.http/1`, for a host that serves HTTP).
    public init(pluginsDirectory: String, config: HostConfig = HostConfig(), extensions: [any HostExtension] = [],
                logger: Logger = Logger(label: "plughost")) {
        self.pluginsDirectory = pluginsDirectory
        self.extensionSet = ExtensionSet(extensions)
        self.logger = logger
        self.control = RuntimeControl(config: config)
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

    /// The state of every alias and every refused file, in a stable order.
    public var statuses: [PluginStatus] { published.withLock { $0.statuses } }

    /// The outcome of the last reload, or nil before the first.
    public var lastReload: ReloadReport? { published.withLock { $0.lastReload } }

    /// Swift plugin images that stay mapped after their plugins were unloaded (never `dlclose`d, see docs/ARCHITECTURE.md).
    public var retainedSwiftImages: Int { published.withLock { $0.retainedSwiftImages } }

    /// Loads and validates every plugin without creating any (for `list` and `check`).
    ///
    /// Each library is opened, its ABI checked and its config validated, then
    /// closed again (a Swift one stays mapped).
    public static func inspect(pluginsDirectory: String, config: HostConfig) -> [PluginStatus] {
        inspect(catalog: PluginCatalog.scan(directory: pluginsDirectory, strictPermissions: config.strictPermissions), config: config)
    }

    static func inspect(catalog: PluginCatalog, config: HostConfig) -> [PluginStatus] {
        let plan = LoadPlan.make(catalog: catalog, config: config)
        var statuses = (catalog.problems + plan.problems).map(PluginStatus.init(problem:))
        let pass = LibraryPass(policy: LoadPolicy(config), planned: plan.enabled)
        defer { pass.finish() }
        for entry in plan.enabled {
            do {
                let prepared = try PreparedPlugin.prepare(entry, config: config, in: pass)
                statuses.append(PluginStatus(entry: entry, state: .loaded, version: prepared.loaded.version, abi: prepared.loaded.abi))
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
        let refused = control.run { control in startAlone(control, strict: strict) }
        if let refused {
            if strict && refused.first?.code != .alreadyStarted { shutdown() }
            throw StartFailure(problems: refused)
        }
    }

    /// The start itself; returns the problems to throw, if any.
    private func startAlone(_ control: RuntimeControl, strict: Bool) -> [PluginError]? {
        guard control.phase == .idle else {
            return [PluginError(.alreadyStarted, file: pluginsDirectory, reason: "a runtime starts once; create a new one")]
        }
        control.phase = .running
        let config = control.config
        if !config.strictPermissions {
            logger.warning("strict permissions are off ([host] strict-permissions = false or --unsafe-permissions): plugin files and folders writable by other users are loaded; never run like this in production")
        }
        let catalog = PluginCatalog.scan(directory: pluginsDirectory, strictPermissions: config.strictPermissions)
        let plan = LoadPlan.make(catalog: catalog, config: config)
        var problems = catalog.problems + plan.problems

        let pass = LibraryPass(policy: LoadPolicy(config), planned: plan.enabled)
        defer { published.withLock { $0.retainedSwiftImages += pass.finish() } }
        var prepared: [PreparedPlugin] = []
        for entry in plan.enabled {
            do {
                prepared.append(try PreparedPlugin.prepare(entry, config: config, in: pass))
            } catch {
                problems.append(error)
                control.failed[entry.alias] = FailedPlugin(entry: entry, fingerprint: PluginFingerprint(entry, config: config), error: error)
            }
        }
        if strict && !problems.isEmpty {
            prepared.forEach { $0.loaded.library.release() }
            control.phase = .stopped
            return problems
        }

        var instances: [PluginInstance] = []
        for plugin in prepared {
            do {
                instances.append(try createInstance(plugin, after: instances, config: config))
            } catch {
                problems.append(error)
                control.failed[plugin.loaded.entry.alias] = FailedPlugin(
                    entry: plugin.loaded.entry, fingerprint: PluginFingerprint(plugin.loaded.entry, config: config), error: error)
                control.abandonedLibraries.append(plugin.loaded.library)
            }
        }

        var generation = assemble(control, instances)
        generation.publish(.preStart)
        var running = instances
        for instance in instances {
            do {
                try instance.start()
            } catch {
                // Leave the failed plugin out of dispatch and services at once, so
                // plugins started after it no longer see it; it is destroyed at shutdown.
                problems.append(error)
                control.failed[instance.alias] = FailedPlugin(entry: instance.loaded.entry, fingerprint: PluginFingerprint(instance), error: error)
                control.startFailed.append(instance)
                running.removeAll { $0 === instance }
                generation = assemble(control, running)
            }
        }
        for warning in generation.warnings { logger.warning("\(warning)") }
        for problem in problems { logger.error("\(problem)") }

        control.generation = generation
        slot.store(generation)
        control.knownProblems = Set(problems + generation.warnings)
        control.statuses = makeStatuses(catalogProblems: catalog.problems + plan.problems, plan: plan, control: control)
        publish(control)
        for instance in generation.instances { generation.publish(.pluginLoaded, text: instance.alias) }
        generation.publish(.postStart)
        logger.info("started \(generation.instances.count) plugin(s): \(generation.aliases.joined(separator: ", "))")
        return strict && !problems.isEmpty ? problems : nil
    }

    /// Fires pre-shutdown, stops the running plugins in reverse order (each
    /// preceded by plugin-unloaded), fires post-shutdown, destroys every
    /// instance and unloads C libraries. Waits for a reload in progress and for
    /// requests still running (up to the drain timeout). Safe to call more than once.
    public func shutdown() {
        control.run { control in
            guard control.phase == .running, let generation = control.generation else { return }
            control.phase = .stopped
            slot.store(nil)
            let timeout = control.config.drainTimeout
            let drained = waitForDrain(generation, timeout: timeout)
            generation.publish(.preShutdown)
            for instance in generation.instances.reversed() {
                generation.publish(.pluginUnloaded, text: instance.alias)
                instance.stop()
            }
            generation.publish(.postShutdown)
            // Everything left goes the way of a retired generation, unless requests still run in it.
            var leftovers = [LingeringGeneration(generation: generation, instances: generation.instances + control.startFailed)]
            leftovers += control.lingering
            control.lingering = leftovers
            control.generation = nil
            control.startFailed = []
            var undestroyed: [String] = []
            for leftover in leftovers {
                let done = leftover.generation === generation ? drained : waitForDrain(leftover.generation, timeout: timeout)
                guard done else {
                    undestroyed += leftover.instances.map(\.alias)
                    continue
                }
                control.lingering.removeAll { $0.generation === leftover.generation }
                finishRetirement(leftover.instances, of: leftover.generation, control: control)
            }
            if !undestroyed.isEmpty {
                logger.error("requests still running after the drain timeout (\(timeout)): \(undestroyed.joined(separator: ", ")) stopped but not destroyed")
            }
            for built in control.alive where built.inFlight.load(ordering: .sequentiallyConsistent) == 0 {
                built.releaseParts()
            }
            control.alive = []
            var retained = 0
            for library in control.abandonedLibraries where library.release() == .keptMapped { retained += 1 }
            control.abandonedLibraries = []
            for index in control.statuses.indices where control.statuses[index].state == .running {
                control.statuses[index].state = .stopped
            }
            published.withLock { $0.retainedSwiftImages += retained }
            publish(control)
            logger.info("stopped \(generation.instances.count) plugin(s); \(retainedSwiftImages) Swift image(s) stay mapped")
        }
    }
}
