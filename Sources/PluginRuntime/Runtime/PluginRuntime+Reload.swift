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
        var report = control.run { control in reloadAlone(control) }
        report.retainedSwiftImages = retainedSwiftImages
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

    private func reloadAlone(_ control: RuntimeControl) -> ReloadReport {
        let clock = ContinuousClock()
        let began = clock.now
        var report = ReloadReport(succeeded: false, generation: control.generation?.number ?? 0, startedAt: WallClock.nanoseconds())
        func fail(_ problems: [PluginError], undoing build: ReloadBuild? = nil, assembled: Generation? = nil) -> ReloadReport {
            assembled?.releaseParts()
            if let build {
                let retained = build.undo()
                published.withLock { $0.retainedSwiftImages += retained }
            }
            report.problems = problems
            report.swapLatency = clock.now - began
            control.generation?.publish(.reloadFailed, text: problems.map(\.description).joined(separator: "; "))
            return report
        }
        guard control.phase == .running, let current = control.generation else {
            return fail([PluginError(.reloadRefused, file: pluginsDirectory, reason: "the runtime is not running")])
        }

        // Read everything again; refuse problems not seen before.
        var config = control.config
        if let path = config.path {
            do {
                config = try HostConfig.load(path: path, checkingPermissions: config.checksOwnPermissions)
            } catch {
                return fail([error])
            }
        }
        let catalog = PluginCatalog.scan(directory: pluginsDirectory, strictPermissions: config.strictPermissions)
        let plan = LoadPlan.make(catalog: catalog, config: config)
        let scanProblems = catalog.problems + plan.problems
        let fresh = scanProblems.filter { !control.knownProblems.contains($0) }
        if !fresh.isEmpty { return fail(fresh) }

        let decided = ReloadPlan(plan: plan, config: config, running: current.instances, failed: control.failed)
        let kept = decided.decisions.compactMap { if case .keep(let old) = $0.decision { old } else { nil } }
        // Unchanged plugins stay only if the new config's pins and keys still admit what they loaded.
        let policy = LoadPolicy(config)
        for old in kept {
            do {
                try policy.admit(old.loaded.library, alias: old.alias)
            } catch {
                return fail([error])
            }
        }
        if decided.keepsAsIs(current) {
            control.config = config
            publish(control)
            report.succeeded = true
            report.unchanged = current.aliases
            report.swapLatency = clock.now - began
            return report
        }

        // Build the new generation off to the side: create, register, assemble (accepts/prepare).
        let build = ReloadBuild(runtime: self, config: config, planned: plan.enabled, keeping: kept)
        defer { published.withLock { $0.retainedSwiftImages += build.libraries.finish() } }
        for (entry, decision) in decided.decisions {
            switch decision {
            case .keep(let old):
                build.keep(old)
                report.unchanged.append(old.alias)
            case .stillFailed:
                continue
            case .build(let old, let reuse):
                do {
                    try build.create(entry, replacing: old, reusing: reuse, control: control)
                } catch {
                    return fail([error], undoing: build)
                }
            }
        }
        // A kept plugin that looked up a service in vain is re-created when this build brings a provider.
        for waiting in build.keptAwaitingNewProviders {
            do {
                try build.recreate(waiting, control: control)
                report.recreated.append(waiting.alias)
                report.unchanged.removeAll { $0 == waiting.alias }
            } catch {
                return fail([error], undoing: build)
            }
        }
        let generation = Generation.assemble(number: control.nextNumber, instances: build.instances, extensions: extensionSet)
        // Plugin threads may hold it even if it never serves: keep it allocated for a while.
        control.keepAlive(generation)
        let freshWarnings = generation.warnings.filter { !control.knownProblems.contains($0) }
        if !freshWarnings.isEmpty { return fail(freshWarnings, undoing: build, assembled: generation) }
        for (instance, _) in build.created { instance.context.attach(to: generation) }

        // State handoff, then start, both before the swap.
        do {
            for (instance, old) in build.created {
                guard let old, old.loaded.id == instance.loaded.id, let state = try old.saveState() else { continue }
                if try instance.restoreState(state, from: old.loaded.version) { report.stateHandedOver.append(instance.alias) }
            }
            for (instance, _) in build.created { try instance.start() }
        } catch {
            return fail([error], undoing: build, assembled: generation)
        }

        // Swap: requests that start from now on run on the new generation.
        control.nextNumber += 1
        control.generation = generation
        slot.store(generation)
        for instance in build.instances { instance.context.attach(to: generation) }
        report.swapLatency = clock.now - began
        report.succeeded = true
        report.generation = generation.number
        announce(build, replacing: current, plan: decided, on: generation, into: &report)

        // Retire the old generation once its requests drained.
        let retiring = current.instances.filter { old in !build.instances.contains { $0 === old } }
        let drainStart = clock.now
        report.drainTimedOut = !retire(retiring, of: current, control: control)
        report.drainTime = clock.now - drainStart
        let running = Set(generation.aliases)
        let settled = control.startFailed.filter { !control.stillFails($0.alias, plan: plan, running: running) }
        control.startFailed.removeAll { instance in settled.contains { $0 === instance } }
        finishRetirement(settled, of: current, control: control)

        control.forgetFailures(except: plan, running: running)
        control.config = config
        control.knownProblems = Set(scanProblems + generation.warnings + control.failed.values.map(\.error))
        control.statuses = makeStatuses(catalogProblems: scanProblems, plan: plan, control: control)
        publish(control)
        return report
    }

    /// Fires plugin-reloaded, plugin-loaded and plugin-unloaded on the new generation, and fills in the report.
    private func announce(_ build: ReloadBuild, replacing current: Generation, plan: ReloadPlan, on generation: Generation,
                          into report: inout ReloadReport) {
        // Users of replaced services (decided by the plan) and users of services that just appeared (found by the build).
        let recreated = plan.recreated + report.recreated.filter { !plan.recreated.contains($0) }
        for (instance, old) in build.created {
            if let old {
                if !recreated.contains(instance.alias) { report.changed.append(instance.alias) }
                generation.publish(.pluginReloaded, text: "\(instance.alias) \(old.loaded.version) \(instance.loaded.version)")
            } else {
                report.added.append(instance.alias)
                generation.publish(.pluginLoaded, text: instance.alias)
            }
        }
        report.recreated = recreated
        let running = Set(generation.aliases)
        report.removed = current.aliases.filter { !running.contains($0) }
        for alias in report.removed { generation.publish(.pluginUnloaded, text: alias) }
    }
}
