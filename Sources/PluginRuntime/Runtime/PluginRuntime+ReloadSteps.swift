import Logging
import Synchronization

/// The steps of a reload (see ``PluginRuntime/reload()``), each run once, in
/// order, holding ``PluginRuntime/control``: read again → create → assemble →
/// hand over and start (``PluginRuntime/prepareReload()``), then swap → settle
/// (``PreparedReload/commit()``), then retire once drained. A step before the
/// swap refuses by throwing; the reload then undoes what it built.
extension PluginRuntime {
    /// Reads the host config and the plugins folder again and decides what to do with each alias.
    /// Refuses problems not reported before, and kept plugins the new config's pins and keys no longer admit.
    func readAgain(_ running: RunningState) throws(ReloadRefusal) -> ReloadInputs {
        var config = running.config
        if let path = config.path {
            do {
                config = try HostConfig.load(path: path, checkingPermissions: config.checksOwnPermissions)
            } catch {
                throw ReloadRefusal(error)
            }
        }
        let scan = PluginScan(directory: pluginsDirectory, config: config)
        let fresh = scan.problems.filter { !running.knownProblems.contains($0) }
        if !fresh.isEmpty { throw ReloadRefusal(fresh) }

        let decided = ReloadPlan(plan: scan.plan, config: config, running: running.generation.instances, failed: running.ledger.failed,
                                 quarantine: quarantine(config))
        let kept = decided.decisions.compactMap { if case .keep(let old) = $0.decision { old } else { nil } }
        // Unchanged plugins stay only if the new config's pins and keys still admit what they loaded.
        let policy = LoadPolicy(config)
        for old in kept {
            do {
                try policy.admit(old.loaded.library, alias: old.alias)
            } catch {
                throw ReloadRefusal(error)
            }
        }
        return ReloadInputs(config: config, scan: scan, decided: decided, kept: kept)
    }

    /// Creates, in `build`, every plugin the plan rebuilds or adds (keeping the others);
    /// then re-creates kept plugins that looked up a service in vain which this build now provides.
    func createAll(_ inputs: ReloadInputs, in build: ReloadBuild, ledger: inout Ledger,
                   report: inout ReloadReport) throws(ReloadRefusal) {
        for (entry, decision) in inputs.decided.decisions {
            switch decision {
            case .keep(let old):
                build.keep(old)
                report.unchanged.append(old.alias)
            case .stillFailed:
                continue
            case .quarantined(let old, let failure):
                // Left out (an old instance retires with the old generation); its guards fail closed.
                ledger.failed[entry.alias] = failure
                if old != nil {
                    report.quarantined.append(entry.alias)
                    logger.error("\(failure.error)")
                }
            case .build(let old, let reuse):
                do {
                    try build.create(entry, replacing: old, reusing: reuse, ledger: &ledger)
                } catch {
                    throw ReloadRefusal(error)
                }
            }
        }
        for waiting in build.keptAwaitingNewProviders {
            do {
                try build.recreate(waiting, ledger: &ledger)
                report.recreated.append(waiting.alias)
                report.unchanged.removeAll { $0 == waiting.alias }
            } catch {
                throw ReloadRefusal(error)
            }
        }
    }

    /// Assembles the generation of `build` under the next number (taken only by the swap).
    func assembleNext(_ build: ReloadBuild, _ running: inout RunningState) -> Generation {
        let generation = Generation.assemble(number: running.ledger.nextNumber, instances: build.instances, extensions: extensionSet,
                                             fences: fences(running.ledger))
        // Plugin threads may hold it even if it never serves: keep it allocated for a while.
        running.ledger.keepAlive(generation, current: running.generation)
        return generation
    }

    /// Refuses warnings the assembly of `generation` raised that were not reported before.
    func refuseFreshWarnings(of generation: Generation, known: Set<PluginError>) throws(ReloadRefusal) {
        let fresh = generation.warnings.filter { !known.contains($0) }
        if !fresh.isEmpty { throw ReloadRefusal(fresh) }
    }

    /// Hands each replaced plugin's state to its successor of the same plugin, then
    /// starts every new instance: both before the swap, so a failure changes nothing.
    func handOverAndStart(_ build: ReloadBuild, report: inout ReloadReport) throws(ReloadRefusal) {
        do {
            for (instance, old) in build.created {
                guard let old, old.loaded.id == instance.loaded.id, let state = try old.saveState() else { continue }
                if try instance.restoreState(state, from: old.loaded.version) { report.stateHandedOver.append(instance.alias) }
            }
            for (instance, _) in build.created { try instance.start() }
        } catch {
            throw ReloadRefusal(error)
        }
    }

    /// Swaps `generation` in: requests that start from now on run on it. Then announces what changed.
    func swap(to generation: Generation, _ build: ReloadBuild, _ inputs: ReloadInputs,
              _ running: inout RunningState, _ attempt: inout ReloadAttempt) {
        let current = running.generation
        running.ledger.nextNumber += 1
        running.generation = generation
        slot.store(generation)
        recordGuards(of: generation)
        for instance in build.instances { instance.context.attach(to: generation) }
        attempt.report.swapLatency = attempt.elapsed
        attempt.report.succeeded = true
        attempt.report.generation = generation.number
        announce(build, replacing: current, plan: inputs.decided, on: generation, into: &attempt.report)
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
