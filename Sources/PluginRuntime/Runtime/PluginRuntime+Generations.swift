#if canImport(Glibc)
import Glibc
#endif
import Logging
import Synchronization

/// What a start or reload finds on disk: the plugins folder scanned and the
/// load plan the host config makes of it.
struct PluginScan {
    /// The enabled and disabled entry points, in config order.
    let plan: LoadPlan
    /// Refused files and plan problems (each reported once; a reload fails only on new ones).
    let problems: [PluginError]

    /// Scans `directory` under `config`.
    init(directory: String, config: HostConfig) {
        let catalog = PluginCatalog.scan(directory: directory, strictPermissions: config.strictPermissions)
        plan = LoadPlan.make(catalog: catalog, config: config)
        problems = catalog.problems + plan.problems
    }
}

/// The steps start, reload and shutdown share: creating instances, assembling
/// generations, draining and unloading, and publishing statuses.
extension PluginRuntime {
    /// Creates `plugin`, refusing services that `earlier` instances (higher priority) provide.
    func createInstance(_ plugin: PreparedPlugin, after earlier: [PluginInstance], config: HostConfig) throws(PluginError) -> PluginInstance {
        var claimed: [String: String] = [:]
        for instance in earlier {
            for service in instance.context.registrations.services where claimed[service.id] == nil {
                claimed[service.id] = instance.alias
            }
        }
        let registrations = PluginRegistrations(extensions: extensionSet, claimedServices: claimed)
        return try PluginInstance.create(plugin, registrations: registrations, cacheLimit: config.cacheEntriesPerPlugin,
                                        cacheBytes: config.cacheBytesPerPlugin, logger: logger)
    }

    /// Assembles the next generation of `instances`, points them at it and keeps it alive in `ledger`.
    func assemble(_ instances: [PluginInstance], ledger: inout Ledger) -> Generation {
        let generation = Generation.assemble(number: ledger.nextNumber, instances: instances, extensions: extensionSet,
                                             fences: fences(ledger))
        ledger.nextNumber += 1
        for instance in instances { instance.context.attach(to: generation) }
        ledger.alive.append(generation)
        return generation
    }

    /// Waits until nothing runs on `generation` any more, or `timeout` passed (nil: no limit).
    /// - Returns: Whether it drained.
    func waitForDrain(_ generation: Generation, timeout: Duration?) -> Bool {
        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now.advanced(by: $0) }
        var pause: UInt32 = 20
        while generation.inFlight.load(ordering: .sequentiallyConsistent) > 0 {
            if let deadline, clock.now >= deadline { return false }
            usleep(pause)
            pause = min(pause * 2, 10_000)
        }
        return true
    }

    /// Copies what status readers see of `phase`.
    func publish(_ phase: RuntimePhase) {
        let statuses = phase.statuses
        let config = phase.config
        let lingering = phase.lingering.count
        published.withLock {
            $0.statuses = statuses
            $0.config = config
            $0.lingering = lingering
        }
    }

    /// Statuses in a stable order: refused files, failed aliases, running ones, disabled ones.
    func makeStatuses(_ scan: PluginScan, _ running: RunningState) -> [PluginStatus] {
        var statuses = scan.problems.map(PluginStatus.init(problem:))
        let instances = Dictionary(uniqueKeysWithValues: running.generation.instances.map { ($0.alias, $0) })
        let warnings = running.generation.warnings
        for entry in scan.plan.enabled {
            if let instance = instances[entry.alias] {
                var status = PluginStatus(entry: instance.loaded.entry, state: .running,
                                          version: instance.loaded.version, abi: instance.loaded.abi)
                status.warnings = warnings.filter { $0.alias == instance.alias }
                status.sha256 = instance.loaded.contentHash
                status.isolation = .of(instance.loaded.library)
                statuses.append(status)
            } else if let failure = running.ledger.failed[entry.alias] {
                statuses.append(PluginStatus(entry: failure.entry, state: failure.quarantine == nil ? .failed : .quarantined,
                                             error: failure.error))
            }
        }
        statuses += scan.plan.disabled.map { PluginStatus(entry: $0, state: .disabled) }
        return statuses
    }
}
