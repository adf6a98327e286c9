#if canImport(Glibc)
import Glibc
#endif
import Logging
import Synchronization

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
        return try PluginInstance.create(plugin, registrations: registrations, cacheLimit: config.cacheEntriesPerPlugin, logger: logger)
    }

    /// Assembles the next generation of `instances`, points them at it and keeps it alive.
    func assemble(_ control: RuntimeControl, _ instances: [PluginInstance], attach: Bool = true) -> Generation {
        let generation = Generation.assemble(number: control.nextNumber, instances: instances, extensions: extensionSet)
        control.nextNumber += 1
        if attach {
            for instance in instances { instance.context.attach(to: generation) }
        }
        control.alive.append(generation)
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

    /// Copies the control state status readers see.
    func publish(_ control: RuntimeControl) {
        let statuses = control.statuses
        let config = control.config
        let lingering = control.lingering.count
        published.withLock {
            $0.statuses = statuses
            $0.config = config
            $0.lingering = lingering
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
