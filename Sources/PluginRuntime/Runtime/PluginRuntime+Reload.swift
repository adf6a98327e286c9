#if canImport(Glibc)
import Glibc
#endif
import Logging
import Synchronization

extension PluginRuntime {
    /// Reloads what changed on disk, the way nginx reloads its configuration.
    ///
    /// Reads the host config again (when it came from a file), rescans the
    /// plugins folder and compares every enabled alias with what runs: a new
    /// alias is added, one whose library content, manifest line or config
    /// changed is replaced by a new build (loaded from a shadow copy), one no
    /// longer enabled is removed, and the rest keep running untouched. Plugins
    /// that use a service of a replaced or removed plugin are re-created.
    ///
    /// The new generation is built off to the side (`parse_config`, `create`,
    /// registrations, wrapper `accepts`/`prepare`, state handoff, `start`); it
    /// is swapped in only when all of it succeeded, else everything new is
    /// undone and the old generation keeps serving. After the swap the old
    /// generation drains (bounded by ``HostConfig/drainTimeout``), then its
    /// replaced plugins are stopped, destroyed and unloaded.
    ///
    /// Fires plugin-unloaded, plugin-reloaded and plugin-loaded on the new
    /// generation, or reload-failed on the old one. Waits for a start,
    /// shutdown or other reload in progress. Never throws: the outcome is the report.
    @discardableResult
    public func reload() -> ReloadReport {
        let report = control.run { control in reloadAlone(control) }
        published.withLock {
            $0.lastReload = report
            $0.reloads += 1
        }
        if report.succeeded {
            logger.info("\(report)")
        } else {
            logger.error("\(report)")
        }
        return report
    }

    /// How many reloads ran (successful or not).
    public var reloadCount: Int { published.withLock { $0.reloads } }

    /// What a reload does with one enabled alias.
    private enum Decision {
        case keep(PluginInstance)
        case stillFailed
        case build(replacing: PluginInstance?, reusing: LoadedPlugin?)
    }

    private func reloadAlone(_ control: RuntimeControl) -> ReloadReport {
        let clock = ContinuousClock()
        let began = clock.now
        var report = ReloadReport(succeeded: false, generation: control.generation?.number ?? 0, startedAt: Self.wallClockNanoseconds())
        func fail(_ problems: [PluginError]) -> ReloadReport {
            report.problems = problems
            report.swapLatency = clock.now - began
            let reason = problems.map(\.description).joined(separator: "; ")
            control.generation?.publish(.reloadFailed, text: reason)
            return report
        }
        guard control.phase == .running, let current = control.generation else {
            return fail([PluginError(.reloadRefused, file: pluginsDirectory, reason: "the runtime is not running")])
        }

        var config = control.config
        if let path = config.path {
            do {
                config = try HostConfig.load(path: path)
            } catch {
                return fail([error])
            }
        }
        let catalog = PluginCatalog.scan(directory: pluginsDirectory)
        let plan = LoadPlan.make(catalog: catalog, config: config)
        let fresh = (catalog.problems + plan.problems).filter { !control.knownProblems.contains($0) }
        if !fresh.isEmpty { return fail(fresh) }

        // Decide per alias, then re-create the users of services that go away.
        let running = Dictionary(uniqueKeysWithValues: current.instances.map { ($0.alias, $0) })
        var decisions: [(EntryPoint, Decision)] = plan.enabled.map { entry in
            let fingerprint = PluginFingerprint(entry, config: config)
            if let old = running[entry.alias] {
                if PluginFingerprint(old) == fingerprint { return (entry, .keep(old)) }
                let sameLibrary = old.loaded.entry == entry && old.loaded.contentHash == fingerprint.contentHash
                return (entry, .build(replacing: old, reusing: sameLibrary ? old.loaded : nil))
            }
            if let failure = control.failed[entry.alias], failure.fingerprint == fingerprint { return (entry, .stillFailed) }
            return (entry, .build(replacing: nil, reusing: nil))
        }
        var replaced = Set(running.keys)
        for (_, decision) in decisions { if case .keep(let old) = decision { replaced.remove(old.alias) } }
        var recreated: [String] = []
        var changedSomething = true
        while changedSomething {
            changedSomething = false
            for index in decisions.indices {
                guard case .keep(let old) = decisions[index].1, !old.context.providers.isDisjoint(with: replaced) else { continue }
                decisions[index].1 = .build(replacing: old, reusing: old.loaded)
                replaced.insert(old.alias)
                recreated.append(old.alias)
                changedSomething = true
            }
        }

        let nothingToBuild = decisions.allSatisfy { if case .build = $0.1 { false } else { true } }
        if nothingToBuild && decisions.compactMap({ if case .keep(let old) = $0.1 { old.alias } else { nil } }) == current.aliases {
            control.config = config
            publish(control)
            report.succeeded = true
            report.unchanged = current.aliases
            report.swapLatency = clock.now - began
            report.retainedSwiftImages = retainedSwiftImages
            return report
        }

        // Build the new instances in the new order, off to the side.
        var next: [PluginInstance] = []
        var created: [(instance: PluginInstance, replacing: PluginInstance?)] = []
        var loadedHere: [PluginLibrary] = []
        func undo() {
            for (instance, _) in created.reversed() {
                instance.stop()
                instance.context.attach(to: nil)
                instance.destroy()
            }
            for library in loadedHere where !library.close() {
                published.withLock { $0.retainedSwiftImages += 1 }
            }
        }
        for (entry, decision) in decisions {
            switch decision {
            case .keep(let old):
                next.append(old)
                report.unchanged.append(old.alias)
            case .stillFailed:
                continue
            case .build(let old, let reuse):
                let prepared: PreparedPlugin
                do {
                    if let reuse {
                        prepared = try PreparedPlugin.prepare(reuse, config: config)
                    } else {
                        prepared = try PreparedPlugin.prepare(entry, config: config)
                        loadedHere.append(prepared.loaded.library)
                    }
                } catch {
                    undo()
                    return fail([error])
                }
                do {
                    let instance = try createInstance(prepared, after: next, config: config)
                    created.append((instance, old))
                    next.append(instance)
                } catch {
                    // Its create may have left threads behind: keep its library mapped until shutdown.
                    if reuse == nil {
                        loadedHere.removeAll { $0 === prepared.loaded.library }
                        control.abandonedLibraries.append(prepared.loaded.library)
                    }
                    undo()
                    return fail([error])
                }
            }
        }

        let generation = Generation.assemble(number: control.nextNumber, instances: next)
        // Plugin threads may hold it even if it never serves: keep it allocated for a while.
        control.keepAlive(generation)
        let freshWarnings = generation.warnings.filter { !control.knownProblems.contains($0) }
        if !freshWarnings.isEmpty {
            generation.endpoints.releaseStates()
            undo()
            return fail(freshWarnings)
        }
        for (instance, _) in created { instance.context.attach(to: generation) }

        // State handoff, then start, both before anything is swapped.
        do {
            for (instance, old) in created {
                guard let old, old.loaded.id == instance.loaded.id, let state = try old.saveState() else { continue }
                if try instance.restoreState(state, from: old.loaded.version) { report.stateHandedOver.append(instance.alias) }
            }
            for (instance, _) in created { try instance.start() }
        } catch {
            generation.endpoints.releaseStates()
            undo()
            return fail([error])
        }

        // Swap.
        control.nextNumber += 1
        control.generation = generation
        slot.store(generation)
        for instance in next { instance.context.attach(to: generation) }
        report.swapLatency = clock.now - began
        report.succeeded = true
        report.generation = generation.number

        let nextAliases = Set(next.map(\.alias))
        for (instance, old) in created {
            if let old {
                if !recreated.contains(instance.alias) { report.changed.append(instance.alias) }
                generation.publish(.pluginReloaded, text: "\(instance.alias) \(old.loaded.version) \(instance.loaded.version)")
            } else {
                report.added.append(instance.alias)
                generation.publish(.pluginLoaded, text: instance.alias)
            }
        }
        report.recreated = recreated
        report.removed = current.instances.map(\.alias).filter { !nextAliases.contains($0) }
        for alias in report.removed { generation.publish(.pluginUnloaded, text: alias) }

        // Retire the old generation once it drained.
        let retiring = current.instances.filter { old in !next.contains { $0 === old } }
        let drainStart = clock.now
        let drained = waitForDrain(current, timeout: config.drainTimeout, what: "reload")
        report.drainTime = clock.now - drainStart
        report.drainTimedOut = !drained
        var retained = unload(retiring, survivors: next, from: current, control: control, closeLibraries: drained)

        // Instances whose start failed earlier and whose alias was rebuilt or is gone.
        let settled = control.startFailed.filter { !control.failedStillApplies(to: $0.alias, plan: plan, next: nextAliases) }
        control.startFailed.removeAll { instance in settled.contains { $0 === instance } }
        retained += unload(settled, survivors: next, from: current, control: control, closeLibraries: true)

        for alias in nextAliases { control.failed[alias] = nil }
        let enabled = Set(plan.enabled.map(\.alias))
        control.failed = control.failed.filter { enabled.contains($0.key) }
        control.config = config
        control.knownProblems = Set(catalog.problems + plan.problems + generation.warnings + control.failed.values.map(\.error))
        control.statuses = makeStatuses(catalogProblems: catalog.problems + plan.problems, plan: plan, control: control)
        published.withLock { $0.retainedSwiftImages += retained }
        report.retainedSwiftImages = retainedSwiftImages
        publish(control)
        return report
    }

    /// Nanoseconds since the Unix epoch.
    static func wallClockNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}

extension RuntimeControl {
    /// Whether `alias` still fails as recorded: still enabled, not running in the new generation.
    func failedStillApplies(to alias: String, plan: LoadPlan, next: Set<String>) -> Bool {
        guard !next.contains(alias), failed[alias] != nil else { return false }
        return plan.enabled.contains { $0.alias == alias }
    }
}
