import Logging
import Synchronization

/// What a start collects on its way: the problems to report and the ledger
/// its running state begins with.
private struct StartProgress {
    /// Every problem so far, in the order found.
    var problems: [PluginError]
    /// Failures, abandoned libraries and the generations built so far.
    var ledger = Ledger()

    /// Records that an enabled alias failed: reported now, and retried by a reload only once it changed.
    mutating func record(_ failure: FailedPlugin) {
        problems.append(failure.error)
        ledger.failed[failure.entry.alias] = failure
    }
}

/// The steps of a start, each run once, in order: scan → prepare → create →
/// start → serve → announce. They run holding ``PluginRuntime/control``.
extension PluginRuntime {
    /// Starts the idle runtime configured by `config`.
    /// - Returns: The phase the runtime is in afterwards, and the problems to throw, if any.
    func startAlone(_ config: HostConfig, strict: Bool) -> (phase: RuntimePhase, refused: [PluginError]?) {
        warnIfPermissive(config)
        let scan = PluginScan(directory: pluginsDirectory, config: config)
        var progress = StartProgress(problems: scan.problems)
        // Quarantined builds are never loaded; what they guarded fails closed (see fences).
        let quarantined = quarantine(config).failures(of: scan.plan.enabled, config: config)
        for failure in quarantined.values.sorted(by: { $0.entry.alias < $1.entry.alias }) {
            logger.error("\(failure.error)")
            progress.ledger.failed[failure.entry.alias] = failure
        }
        let loadable = scan.plan.enabled.filter { quarantined[$0.alias] == nil }
        let pass = LibraryPass(policy: LoadPolicy(config), planned: loadable)
        defer { published.withLock { $0.retainedSwiftImages += pass.finish() } }
        let prepared = prepare(loadable, config: config, in: pass, progress: &progress)
        if strict && !progress.problems.isEmpty {
            prepared.forEach { $0.loaded.library.release() }
            return (.stopped(StoppedState(config: config)), progress.problems)
        }
        let instances = create(prepared, config: config, progress: &progress)
        let generation = startInstances(instances, progress: &progress)
        let running = serve(generation, config: config, scan: scan, progress: progress)
        announceStart(of: generation)
        let problems = progress.problems
        return (.running(running), strict && !problems.isEmpty ? problems : nil)
    }

    /// Says loudly that plugin files writable by others will be loaded.
    private func warnIfPermissive(_ config: HostConfig) {
        if !config.strictPermissions {
            logger.warning("strict permissions are off ([host] strict-permissions = false or --unsafe-permissions): plugin files and folders writable by other users are loaded; never run like this in production")
        }
    }

    /// Loads every enabled entry and validates its config; a failure leaves that alias out.
    private func prepare(_ entries: [EntryPoint], config: HostConfig, in pass: LibraryPass,
                         progress: inout StartProgress) -> [PreparedPlugin] {
        var prepared: [PreparedPlugin] = []
        for entry in entries {
            do {
                prepared.append(try PreparedPlugin.prepare(entry, config: config, in: pass))
            } catch {
                progress.record(FailedPlugin(entry, config: config, error: error))
            }
        }
        return prepared
    }

    /// Creates the prepared plugins in config order; a failure leaves that alias out.
    private func create(_ prepared: [PreparedPlugin], config: HostConfig, progress: inout StartProgress) -> [PluginInstance] {
        var instances: [PluginInstance] = []
        for plugin in prepared {
            do {
                instances.append(try createInstance(plugin, after: instances, config: config))
            } catch {
                progress.record(FailedPlugin(plugin.loaded.entry, config: config, error: error))
                // Its create may have left threads behind: keep its library mapped until shutdown.
                plugin.loaded.library.abandon(to: &progress.ledger.abandonedLibraries)
            }
        }
        return instances
    }

    /// Assembles the first generation, fires pre-start and starts every instance in order.
    /// - Returns: The generation of those that started.
    private func startInstances(_ instances: [PluginInstance], progress: inout StartProgress) -> Generation {
        var generation = assemble(instances, ledger: &progress.ledger)
        generation.publish(.preStart)
        var running = instances
        for instance in instances {
            do {
                try instance.start()
            } catch {
                // Leave the failed plugin out of dispatch and services at once, so
                // plugins started after it no longer see it; it is destroyed at shutdown.
                progress.record(FailedPlugin(instance, error: error))
                progress.ledger.startFailed.append(instance)
                running.removeAll { $0 === instance }
                generation = assemble(running, ledger: &progress.ledger)
            }
        }
        return generation
    }

    /// Logs what went wrong, puts `generation` in service and publishes the statuses.
    private func serve(_ generation: Generation, config: HostConfig, scan: PluginScan, progress: StartProgress) -> RunningState {
        for warning in generation.warnings { logger.warning("\(warning)") }
        for problem in progress.problems { logger.error("\(problem)", metadata: problem.logMetadata) }
        var running = RunningState(config: config, generation: generation, ledger: progress.ledger,
                                   knownProblems: Set(progress.problems + generation.warnings))
        slot.store(generation)
        recordGuards(of: generation)
        running.statuses = makeStatuses(scan, running)
        publish(.running(running))
        return running
    }

    /// Fires plugin-loaded for each plugin, then post-start.
    private func announceStart(of generation: Generation) {
        for instance in generation.instances { generation.publish(.pluginLoaded, text: instance.alias) }
        generation.publish(.postStart)
        logger.info("started \(generation.instances.count) plugin(s): \(generation.aliases.joined(separator: ", "))")
    }
}
