public import Logging
import Synchronization

/// Discovers, loads, starts and stops plugins; embeddable in any Swift program.
///
/// ```swift
/// let runtime = PluginRuntime(pluginsDirectory: "plugins", config: try HostConfig.load(path: "plughost.toml"))
/// try runtime.start()
/// runtime.generation?.publish(EventNames.shared.id(for: "app.ready")!, text: "hello")
/// runtime.shutdown()
/// ```
///
/// A plugin that fails anywhere (manifest, library, ABI, config, create,
/// start) is reported in ``statuses`` and left out; the others run. With
/// `strict`, any failure stops the start instead.
public final class PluginRuntime: Sendable {
    /// Thrown by ``start(strict:)`` in strict mode, or when started twice.
    public struct StartFailure: Error, CustomStringConvertible {
        /// Every problem found, one per file or alias.
        public var problems: [PluginError]
        /// One line per problem.
        public var description: String { problems.map(\.description).joined(separator: "\n") }
    }

    private enum Phase { case idle, running, stopped }

    private struct State: ~Copyable {
        var phase = Phase.idle
        var generation: Generation?
        /// Every generation built, kept alive until shutdown (contexts point at them unretained).
        var generations: [Generation] = []
        /// Every created instance, including those whose start failed, in config order.
        var instances: [PluginInstance] = []
        var statuses: [PluginStatus] = []
    }

    /// The plugins folder.
    public let pluginsDirectory: String
    /// The host config in force.
    public let config: HostConfig
    /// Whether plugins are offered the HTTP extension (`plughost.http/1`).
    public let servesHTTP: Bool
    private let logger: Logger
    private let state = Mutex(State())
    /// Libraries of plugins whose create failed, closed at shutdown.
    private let abandonedLibraries = Mutex<[PluginLibrary]>([])

    /// Creates a runtime; nothing is loaded until ``start(strict:)``.
    /// - Parameter servesHTTP: Offer plugins the HTTP extension; set by an HTTP adapter that serves ``Generation/handle(_:)``.
    public init(pluginsDirectory: String, config: HostConfig = HostConfig(), servesHTTP: Bool = false,
                logger: Logger = Logger(label: "plughost")) {
        self.pluginsDirectory = pluginsDirectory
        self.config = config
        self.servesHTTP = servesHTTP
        self.logger = logger
    }

    /// The running generation, to publish events or run checks on; nil before start and after shutdown.
    public var generation: Generation? { state.withLock { $0.generation } }

    /// The state of every alias and every refused file, in a stable order.
    public var statuses: [PluginStatus] { state.withLock { $0.statuses } }

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
        let alreadyStarted = state.withLock { state in
            defer { if state.phase == .idle { state.phase = .running } }
            return state.phase != .idle
        }
        if alreadyStarted { throw StartFailure(problems: [PluginError(.alreadyStarted, file: pluginsDirectory, reason: "a runtime starts once; create a new one")]) }

        let catalog = PluginCatalog.scan(directory: pluginsDirectory)
        let plan = LoadPlan.make(catalog: catalog, config: config)
        var problems = catalog.problems + plan.problems
        var statuses = problems.map(PluginStatus.init(problem:))

        var prepared: [PreparedPlugin] = []
        for entry in plan.enabled {
            do {
                prepared.append(try PreparedPlugin.prepare(entry, config: config))
            } catch {
                problems.append(error)
                statuses.append(PluginStatus(entry: entry, state: .failed, error: error))
            }
        }
        if strict && !problems.isEmpty {
            prepared.forEach { $0.loaded.library.close() }
            state.withLock { $0.phase = .stopped }
            throw StartFailure(problems: problems)
        }

        let builder = GenerationBuilder(logger: logger, servesHTTP: servesHTTP)
        var instances: [PluginInstance] = []
        // A plugin whose create failed may have registered things before failing:
        // they are left out of every table, so nothing ever calls into it.
        var failedOrders = Set<Int>()
        for (order, plugin) in prepared.enumerated() {
            do {
                instances.append(try PluginInstance.create(plugin, order: order, builder: builder,
                                                           cacheLimit: config.cacheEntriesPerPlugin, logger: logger))
            } catch {
                failedOrders.insert(order)
                problems.append(error)
                statuses.append(PluginStatus(entry: plugin.loaded.entry, state: .failed, error: error))
                // Its library stays open: a C library is closed at shutdown, once no frozen table can refer to it.
                abandonedLibraries.withLock { $0.append(plugin.loaded.library) }
            }
        }

        var generations = [freeze(builder, instances: instances, excluding: failedOrders, number: 1)]
        generations[0].publish(.preStart)

        for instance in instances {
            do {
                try instance.start()
            } catch {
                // Leave the failed plugin out of dispatch and services at once, so
                // plugins started after it no longer see it; it is destroyed at shutdown.
                failedOrders.insert(instance.context.order)
                problems.append(error)
                generations.append(freeze(builder, instances: instances, excluding: failedOrders, number: generations.count + 1))
            }
        }
        let generation = generations.last!
        let warnings = builder.warnings + generation.endpoints.warnings
        for warning in warnings { logger.warning("\(warning)") }
        for instance in instances {
            let failure = problems.last { $0.alias == instance.alias && $0.code == .startFailed }
            var status = PluginStatus(
                entry: instance.loaded.entry, state: failure == nil ? .running : .failed,
                version: instance.loaded.version, abi: instance.loaded.abi, error: failure)
            status.warnings = warnings.filter { $0.alias == instance.alias }
            statuses.append(status)
        }
        statuses += plan.disabled.map { PluginStatus(entry: $0, state: .disabled) }
        for problem in problems { logger.error("\(problem)") }

        state.withLock { state in
            state.generation = generation
            state.generations = generations
            state.instances = instances
            state.statuses = statuses
        }
        for instance in generation.instances { generation.publish(.pluginLoaded, text: instance.alias) }
        generation.publish(.postStart)
        logger.info("started \(generation.instances.count) plugin(s): \(generation.aliases.joined(separator: ", "))")

        if strict && !problems.isEmpty {
            shutdown()
            throw StartFailure(problems: problems)
        }
    }

    /// Fires pre-shutdown, stops the running plugins in reverse order (each
    /// preceded by plugin-unloaded), fires post-shutdown, destroys every
    /// instance and unloads C libraries. Safe to call more than once.
    public func shutdown() {
        let taken = state.withLock { state -> (Generation?, [PluginInstance], [Generation]) in
            guard state.phase == .running else { return (nil, [], []) }
            state.phase = .stopped
            let taken = (state.generation, state.instances, state.generations)
            state.generation = nil
            return taken
        }
        guard let generation = taken.0 else { return }
        let instances = taken.1
        generation.publish(.preShutdown)
        for instance in generation.instances.reversed() {
            generation.publish(.pluginUnloaded, text: instance.alias)
            instance.stop()
        }
        generation.publish(.postShutdown)
        for built in taken.2 { built.endpoints.releaseStates() }
        for instance in instances.reversed() { instance.destroy() }
        var retainedSwiftImages = 0
        for instance in instances where !instance.loaded.library.close() { retainedSwiftImages += 1 }
        for library in abandonedLibraries.withLock({ $0 }) where !library.close() { retainedSwiftImages += 1 }
        state.withLock { state in
            for index in state.statuses.indices where state.statuses[index].state == .running {
                state.statuses[index].state = .stopped
            }
        }
        logger.info("stopped \(instances.count) plugin(s); \(retainedSwiftImages) Swift image(s) stay mapped")
    }

    private func freeze(_ builder: GenerationBuilder, instances: [PluginInstance], excluding: Set<Int>, number: Int) -> Generation {
        let generation = Generation(
            number: number, events: builder.events.build(excluding: excluding),
            services: builder.frozenServices(excluding: excluding),
            endpoints: EndpointTable(endpoints: builder.endpoints, wrappers: builder.wrappers, excluding: excluding),
            instances: instances.filter { !excluding.contains($0.context.order) })
        for instance in instances { instance.context.attach(to: generation) }
        return generation
    }
}
