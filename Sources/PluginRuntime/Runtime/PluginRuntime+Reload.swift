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
    ///
    /// - Parameter gate: Asked, once everything new is built and started, whether to swap
    ///   (with the report so far); answering false undoes the build as if it had failed, with
    ///   the reason given. Hosts with several worker processes use it to prepare the reload in
    ///   every worker before any swaps. Not called when the reload fails before.
    @discardableResult
    public func reload(gate: ((ReloadReport) -> ReloadGateVerdict)? = nil) -> ReloadReport {
        var report = control.withLock { phase in
            guard case .running(var running) = phase else {
                return ReloadAttempt(generation: 0).refused(
                    [PluginError(.reloadRefused, file: pluginsDirectory, reason: "the runtime is not running")])
            }
            let report = reloadAlone(&running, gate: gate)
            phase = .running(running)
            return report
        }
        report.retainedSwiftImages = retainedSwiftImages
        published.withLock {
            $0.lastReload = report
            $0.recentReloads = Array(($0.recentReloads + [report]).suffix(Self.recentReloadsKept))
            $0.reloads += 1
        }
        metrics.recordReload(report)
        if report.succeeded {
            logger.info("\(report)")
        } else {
            logger.error("\(report)", metadata: ["problems": .array(report.problems.map { .dictionary($0.logMetadata) })])
        }
        return report
    }

    /// How many reloads ran (successful or not).
    public var reloadCount: Int { published.withLock { $0.reloads } }

    /// The reload itself, in steps: read again → build off to the side → swap → retire the old generation.
    /// Any step before the swap may refuse; then everything built is undone and `running` keeps serving.
    private func reloadAlone(_ running: inout RunningState, gate: ((ReloadReport) -> ReloadGateVerdict)?) -> ReloadReport {
        var attempt = ReloadAttempt(generation: running.generation.number)
        let current = running.generation
        let inputs: ReloadInputs
        do {
            inputs = try readAgain(running)
        } catch {
            return refuse(error, attempt, current: current)
        }
        if inputs.decided.keepsAsIs(current) {
            if case .refuse(let reason) = gate?(attempt.report) ?? .swap {
                return refuse(ReloadRefusal([PluginError(.reloadRefused, file: pluginsDirectory, reason: reason)]), attempt, current: current)
            }
            return keepAsIs(inputs, &running, attempt)
        }

        // Build the new generation off to the side: create, register, assemble (accepts/prepare).
        let build = ReloadBuild(runtime: self, config: inputs.config, planned: inputs.scan.plan.enabled, keeping: inputs.kept)
        defer { published.withLock { $0.retainedSwiftImages += build.libraries.finish() } }
        do {
            try createAll(inputs, in: build, ledger: &running.ledger, report: &attempt.report)
        } catch {
            return refuse(error, attempt, current: current, undoing: build)
        }
        let generation = assembleNext(build, &running)
        do {
            try refuseFreshWarnings(of: generation, known: running.knownProblems)
            for (instance, _) in build.created { instance.context.attach(to: generation) }
            try handOverAndStart(build, report: &attempt.report)
        } catch {
            return refuse(error, attempt, current: current, undoing: build, assembled: generation)
        }
        if case .refuse(let reason) = gate?(attempt.report) ?? .swap {
            let refusal = ReloadRefusal([PluginError(.reloadRefused, file: pluginsDirectory, reason: reason)])
            return refuse(refusal, attempt, current: current, undoing: build, assembled: generation)
        }

        swap(to: generation, build, inputs, &running, &attempt)
        retireReplaced(current, leftBy: build, inputs, &running, &attempt)
        settle(inputs, &running)
        return attempt.report
    }

    /// The reload that changes no plugin: it only takes the new config.
    private func keepAsIs(_ inputs: ReloadInputs, _ running: inout RunningState, _ attempt: ReloadAttempt) -> ReloadReport {
        running.config = inputs.config
        publish(.running(running))
        var report = attempt.report
        report.succeeded = true
        report.unchanged = running.generation.aliases
        report.swapLatency = attempt.elapsed
        return report
    }

    /// Undoes what the reload built (the `assembled` generation's parts, then the
    /// `build`), fires reload-failed on the `current` generation, which keeps
    /// serving, and returns the report of the refusal.
    private func refuse(_ refusal: ReloadRefusal, _ attempt: ReloadAttempt, current: Generation,
                        undoing build: ReloadBuild? = nil, assembled: Generation? = nil) -> ReloadReport {
        assembled?.releaseParts()
        if let build {
            let retained = build.undo()
            published.withLock { $0.retainedSwiftImages += retained }
        }
        let report = attempt.refused(refusal.problems)
        current.publish(.reloadFailed, text: refusal.problems.map(\.description).joined(separator: "; "))
        return report
    }

    /// Records the swapped-in generation's outcome: failures still standing, config, known problems, statuses.
    private func settle(_ inputs: ReloadInputs, _ running: inout RunningState) {
        running.ledger.forgetFailures(except: inputs.scan.plan, running: Set(running.generation.aliases))
        running.config = inputs.config
        running.knownProblems = Set(inputs.scan.problems + running.generation.warnings + running.ledger.failed.values.map(\.error))
        running.statuses = makeStatuses(inputs.scan, running)
        publish(.running(running))
    }
}

/// A reload's gate's answer (see ``PluginRuntime/reload(gate:)``).
public enum ReloadGateVerdict: Sendable {
    /// Swap the new generation in.
    case swap
    /// Undo everything built; the reason is the reload's problem.
    case refuse(String)
}
