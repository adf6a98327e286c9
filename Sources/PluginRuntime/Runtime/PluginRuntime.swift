#if canImport(Glibc)
import Glibc
#endif
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
    }

    /// The plugins folder.
    public let pluginsDirectory: String
    /// Whether plugins are offered the HTTP extension (`plughost.http/1`).
    public let servesHTTP: Bool
    let logger: Logger
    /// Start, reload and shutdown, one at a time.
    let control: RuntimeControl
    /// The generation requests are served from.
    let slot = GenerationSlot()
    let published: Mutex<Published>

    /// Creates a runtime; nothing is loaded until ``start(strict:)``.
    /// - Parameters:
    ///   - config: The host config; a reload reads it again from its ``HostConfig/path`` when it has one.
    ///   - servesHTTP: Offer plugins the HTTP extension; set by an HTTP adapter that serves ``Generation/handle(_:)``.
    public init(pluginsDirectory: String, config: HostConfig = HostConfig(), servesHTTP: Bool = false,
                logger: Logger = Logger(label: "plughost")) {
        self.pluginsDirectory = pluginsDirectory
        self.servesHTTP = servesHTTP
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

    /// Swift plugin images that stay mapped after their plugins were unloaded (never `dlclose`d, see DESIGN.md).
    public var retainedSwiftImages: Int { published.withLock { $0.retainedSwiftImages } }

    /// Loads and validates every plugin without creating any (for `list` and `check`).
    ///
    /// Each library is opened, its ABI checked and its config validated, then
    /// closed again (a Swift one stays mapped).
    public static func inspect(pluginsDirectory: String, config: HostConfig) -> [PluginStatus] {
        inspect(catalog: PluginCatalog.scan(directory: pluginsDirectory), config: config)
    }

    static func inspect(catalog: PluginCatalog, config: HostConfig) -> [PluginStatus] {
        let plan = LoadPlan.make(catalog: catalog, config: config)
        var statuses = (catalog.problems + plan.problems).map(PluginStatus.init(problem:))
        for entry in plan.enabled {
            do {
                let prepared = try PreparedPlugin.prepare(entry, config: config)
                statuses.append(PluginStatus(entry: entry, state: .loaded, version: prepared.loaded.version, abi: prepared.loaded.abi))
                prepared.loaded.library.close()
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
        let catalog = PluginCatalog.scan(directory: pluginsDirectory)
        let plan = LoadPlan.make(catalog: catalog, config: config)
        var problems = catalog.problems + plan.problems

        var prepared: [PreparedPlugin] = []
        for entry in plan.enabled {
            do {
                prepared.append(try PreparedPlugin.prepare(entry, config: config))
            } catch {
                problems.append(error)
                control.failed[entry.alias] = FailedPlugin(entry: entry, fingerprint: PluginFingerprint(entry, config: config), error: error)
            }
        }
        if strict && !problems.isEmpty {
            prepared.forEach { $0.loaded.library.close() }
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
            let drained = waitForDrain(generation, timeout: control.config.drainTimeout, what: "shutdown")
            generation.publish(.preShutdown)
            for instance in generation.instances.reversed() {
                generation.publish(.pluginUnloaded, text: instance.alias)
                instance.stop()
            }
            generation.publish(.postShutdown)
            control.generation = nil
            let instances = generation.instances + control.startFailed
            control.startFailed = []
            var retained = unload(instances, survivors: [], from: generation, control: control, closeLibraries: drained)
            for built in control.alive { built.endpoints.releaseStates() }
            control.alive = []
            for library in control.abandonedLibraries where !library.close() { retained += 1 }
            control.abandonedLibraries = []
            for index in control.statuses.indices where control.statuses[index].state == .running {
                control.statuses[index].state = .stopped
            }
            published.withLock { $0.retainedSwiftImages += retained }
            publish(control)
            logger.info("stopped \(instances.count) plugin(s); \(retainedSwiftImages) Swift image(s) stay mapped")
        }
    }

    // MARK: - Pieces shared by start and reload

    /// Creates `plugin`, refusing services that `earlier` instances (higher priority) provide.
    func createInstance(_ plugin: PreparedPlugin, after earlier: [PluginInstance], config: HostConfig) throws(PluginError) -> PluginInstance {
        var claimed: [String: String] = [:]
        for instance in earlier {
            for service in instance.context.registrations.services where claimed[service.id] == nil {
                claimed[service.id] = instance.alias
            }
        }
        let registrations = PluginRegistrations(servesHTTP: servesHTTP, claimedServices: claimed)
        return try PluginInstance.create(plugin, registrations: registrations, cacheLimit: config.cacheEntriesPerPlugin, logger: logger)
    }

    /// Assembles the next generation of `instances`, points them at it and keeps it alive.
    func assemble(_ control: RuntimeControl, _ instances: [PluginInstance], attach: Bool = true) -> Generation {
        let generation = Generation.assemble(number: control.nextNumber, instances: instances)
        control.nextNumber += 1
        if attach {
            for instance in instances { instance.context.attach(to: generation) }
        }
        control.alive.append(generation)
        return generation
    }

    /// Stops, detaches, destroys and unloads `instances`, which served in `generation`
    /// (already out of the slot). Libraries still used by `survivors` stay open.
    /// - Returns: The number of Swift images left mapped.
    func unload(_ instances: [PluginInstance], survivors: [PluginInstance], from generation: Generation,
                control: RuntimeControl, closeLibraries: Bool) -> Int {
        for instance in instances.reversed() { instance.stop() }
        for instance in instances { instance.context.attach(to: nil) }
        // Calls the plugins made through their contexts just before the detach.
        _ = waitForDrain(generation, timeout: control.config.drainTimeout, what: "unload")
        generation.endpoints.releaseStates()
        for instance in instances.reversed() { instance.destroy() }
        var retained = 0
        var closed = Set<ObjectIdentifier>()
        for instance in instances {
            let library = instance.loaded.library
            guard !survivors.contains(where: { $0.loaded.library === library }),
                  closed.insert(ObjectIdentifier(library)).inserted else { continue }
            if !closeLibraries || !library.close() { retained += 1 }
        }
        return retained
    }

    /// Waits until nothing runs on `generation` any more, or `timeout` passed (logged).
    /// - Returns: Whether it drained.
    func waitForDrain(_ generation: Generation, timeout: Duration, what: String) -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var pause: UInt32 = 20
        while generation.inFlight.load(ordering: .sequentiallyConsistent) > 0 {
            if clock.now >= deadline {
                logger.error("\(what): generation \(generation.number) still has \(generation.inFlight.load(ordering: .relaxed)) call(s) in flight after \(timeout); stopping its plugins anyway, their images stay mapped")
                return false
            }
            usleep(pause)
            pause = min(pause * 2, 2000)
        }
        return true
    }

    /// Copies the control state status readers see.
    func publish(_ control: RuntimeControl) {
        let statuses = control.statuses
        let config = control.config
        published.withLock {
            $0.statuses = statuses
            $0.config = config
        }
    }

    /// Statuses in a stable order: refused files, failed aliases, running ones, disabled ones.
    func makeStatuses(catalogProblems: [PluginError], plan: LoadPlan, control: RuntimeControl) -> [PluginStatus] {
        var statuses = catalogProblems.map(PluginStatus.init(problem:))
        let running = Dictionary(uniqueKeysWithValues: (control.generation?.instances ?? []).map { ($0.alias, $0) })
        let warnings = control.generation?.warnings ?? []
        for entry in plan.enabled {
            if let instance = running[entry.alias] {
                var status = PluginStatus(entry: instance.loaded.entry, state: .running,
                                          version: instance.loaded.version, abi: instance.loaded.abi)
                status.warnings = warnings.filter { $0.alias == instance.alias }
                statuses.append(status)
            } else if let failure = control.failed[entry.alias] {
                statuses.append(PluginStatus(entry: failure.entry, state: .failed, error: failure.error))
            }
        }
        statuses += plan.disabled.map { PluginStatus(entry: $0, state: .disabled) }
        return statuses
    }
}
