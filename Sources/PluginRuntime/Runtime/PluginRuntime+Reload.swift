import Dispatch
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
    /// shutdown or other reload in progress. Never throws: the outcome is the
    /// report, which includes the drain. The same reload in two phases, for
    /// hosts that decide in between, is ``prepareReload()``.
    @discardableResult
    public func reload() -> ReloadReport {
        let prepared = prepareReload()
        guard prepared.awaitsVerdict else { return prepared.report }
        _ = prepared.commit()
        return prepared.waitForDrain()
    }

    /// The first phase of a reload: everything ``reload()`` does before the swap.
    ///
    /// When the returned reload ``PreparedReload/awaitsVerdict``, the new
    /// generation is built and started off to the side and the old one still
    /// serves: call ``PreparedReload/commit()`` to swap or
    /// ``PreparedReload/abort(_:)`` to undo, exactly once. Until then no other
    /// start, reload or shutdown of this runtime begins (they wait), but the
    /// runtime's lock is not held: readers, requests and plugins' calls into
    /// the host go on. A host with several worker processes prepares in every
    /// worker and commits only when all of them prepared.
    public func prepareReload() -> PreparedReload {
        operations.wait()
        let (stage, attempt) = control.withLock { phase -> (PreparedReload.Stage, ReloadAttempt) in
            guard case .running(var running) = phase else {
                let attempt = ReloadAttempt(generation: 0)
                return (.decided(attempt.refused(
                    [PluginError(.reloadRefused, file: pluginsDirectory, reason: "the runtime is not running")])), attempt)
            }
            let prepared = prepareAlone(&running)
            phase = .running(running)
            return prepared
        }
        guard case .decided(let report) = stage else { return PreparedReload(runtime: self, stage: stage, attempt: attempt) }
        operations.signal()
        return PreparedReload(runtime: self, stage: .decided(record(report)), attempt: attempt)
    }

    /// How many reloads ran (successful or not).
    public var reloadCount: Int { published.withLock { $0.reloads } }

    /// The first steps of a reload: read again → build off to the side → start. Any step may
    /// refuse; then everything built is undone and `running` keeps serving.
    private func prepareAlone(_ running: inout RunningState) -> (PreparedReload.Stage, ReloadAttempt) {
        let attempt = ReloadAttempt(generation: running.generation.number)
        let current = running.generation
        let (read, manifests) = TOMLReadRecorder.recording { [running] () -> Result<ReloadInputs, ReloadRefusal> in
            do throws(ReloadRefusal) {
                return .success(try readAgain(running))
            } catch {
                return .failure(error)
            }
        }
        var inputs: ReloadInputs
        switch read {
        case .success(let read): inputs = read
        case .failure(let refusal): return (.decided(refuse(refusal, attempt, current: current)), attempt)
        }
        inputs.manifests = manifests
        if inputs.decided.keepsAsIs(current) { return (.keepAsIs(inputs), attempt) }

        // Build the new generation off to the side: create, register, assemble (accepts/prepare).
        let build = ReloadBuild(runtime: self, config: inputs.config, planned: inputs.scan.plan.enabled, keeping: inputs.kept)
        var report = attempt
        do {
            try createAll(inputs, in: build, ledger: &running.ledger, report: &report.report)
        } catch {
            return (.decided(refuse(error, report, current: current, undoing: build)), report)
        }
        let generation = assembleNext(build, &running)
        do {
            try refuseFreshWarnings(of: generation, known: running.knownProblems)
            for (instance, _) in build.created { instance.context.attach(to: generation) }
            try handOverAndStart(build, report: &report.report)
        } catch {
            return (.decided(refuse(error, report, current: current, undoing: build, assembled: generation)), report)
        }
        return (.built(build, generation, inputs, current: current), report)
    }

    /// The reload that changes no plugin: it only takes the new config.
    func keepAsIs(_ inputs: ReloadInputs, _ running: inout RunningState, _ attempt: ReloadAttempt) -> ReloadReport {
        running.config = inputs.config
        published.withLock { $0.committedManifests = inputs.manifests }
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
    func refuse(_ refusal: ReloadRefusal, _ attempt: ReloadAttempt, current: Generation,
                undoing build: ReloadBuild? = nil, assembled: Generation? = nil) -> ReloadReport {
        assembled?.releaseParts()
        if let build {
            // Unloading runs plugin destructors: outside the lock every status reader takes.
            let retained = build.undo() + build.libraries.finish()
            published.withLock { $0.retainedSwiftImages += retained }
        }
        let report = attempt.refused(refusal.problems)
        current.publish(.reloadFailed, text: refusal.problems.map(\.description).joined(separator: "; "))
        return report
    }

    /// Swaps the prepared generation in and settles the runtime's state; returns the
    /// report (without the drain) and what the drain that follows retires.
    func commitAlone(_ build: ReloadBuild, _ generation: Generation, _ inputs: ReloadInputs, current: Generation,
                     _ running: inout RunningState, _ attempt: inout ReloadAttempt) -> Retirement {
        let retained = build.libraries.finish()
        published.withLock {
            $0.retainedSwiftImages += retained
            $0.committedManifests = inputs.manifests
        }
        swap(to: generation, build, inputs, &running, &attempt)
        let retiring = current.instances.filter { old in !build.instances.contains { $0 === old } }
        // The drain runs under the config the old generation ran with.
        let retirement = Retirement(generation: current, instances: retiring, plan: inputs.scan.plan,
                                    timeout: running.config.drainTimeout)
        settle(inputs, &running)
        return retirement
    }

    /// Records the swapped-in generation's outcome: failures still standing, config, known problems, statuses.
    private func settle(_ inputs: ReloadInputs, _ running: inout RunningState) {
        running.ledger.forgetFailures(except: inputs.scan.plan, running: Set(running.generation.aliases))
        running.config = inputs.config
        running.knownProblems = Set(inputs.scan.problems + running.generation.warnings + running.ledger.failed.values.map(\.error))
        running.statuses = makeStatuses(inputs.scan, running)
        publish(.running(running))
    }

    /// Keeps `report` as the last reload's, counts it and logs it.
    /// - Returns: The report as kept (with the Swift images retained so far).
    @discardableResult
    func record(_ report: ReloadReport) -> ReloadReport {
        var report = report
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

    /// Puts the drain's figures into the last reload's report, if it is still `report`'s, and logs them.
    func recordDrain(of report: ReloadReport) {
        let milliseconds = ReloadReport.milliseconds(report.drainTime)
        if report.drainTimedOut {
            logger.warning("the generation that generation \(report.generation) replaced still had requests after \(milliseconds) ms (the drain timeout)")
        } else {
            logger.info("the generation that generation \(report.generation) replaced drained in \(milliseconds) ms")
        }
        published.withLock { published in
            guard let last = published.lastReload, last.startedAt == report.startedAt else { return }
            published.lastReload = report
            if let index = published.recentReloads.lastIndex(where: { $0.startedAt == report.startedAt }) {
                published.recentReloads[index] = report
            }
        }
    }
}

/// What a committed reload retires once the replaced generation drained.
struct Retirement {
    /// The generation swapped out.
    let generation: Generation
    /// Its instances the new generation does not keep.
    let instances: [PluginInstance]
    /// The plan the reload ran under (start failures it no longer plans are destroyed).
    let plan: LoadPlan
    /// How long its requests may take to drain.
    let timeout: Duration
}
