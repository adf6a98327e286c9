import Dispatch
import Logging
import Synchronization

/// A generation a reload replaced whose requests outlived the drain timeout,
/// with the instances that leave with it (stopped, not yet destroyed).
struct LingeringGeneration: Sendable {
    /// The replaced generation, still counted by requests running in it.
    let generation: Generation
    /// Its plugins that leave with it.
    let instances: [PluginInstance]
}

extension PluginRuntime {
    /// Retires what a committed reload replaced: waits for the replaced
    /// generation's in-flight calls (up to the drain timeout, holding no lock),
    /// stops its leaving instances, then destroys and unloads them, and destroys
    /// start failures the reload settled.
    ///
    /// When the timeout passes first, it logs, stops them anyway, records them
    /// among the lingering generations and returns; destroying and unloading
    /// then happen in the background as soon as the last request has left. An
    /// instance is never destroyed, nor its image unmapped, under a request still running in it.
    /// - Returns: Whether the generation drained within the timeout.
    func retire(_ retirement: Retirement) -> Bool {
        let generation = retirement.generation
        let instances = retirement.instances
        let timeout = retirement.timeout
        draining.add(1, ordering: .relaxed)
        let drained = waitForDrain(generation, timeout: timeout)
        draining.subtract(1, ordering: .relaxed)
        control.withLock { phase in
            for instance in instances.reversed() { instance.stop() }
            guard case .running(var running) = phase else { return }
            // Start failures the reload settled leave with the replaced generation's plugins.
            let aliases = Set(running.generation.aliases)
            let ledger = running.ledger
            let settled = ledger.startFailed.filter { !ledger.stillFails($0.alias, plan: retirement.plan, running: aliases) }
            running.ledger.startFailed.removeAll { instance in settled.contains { $0 === instance } }
            let leaving = settled + instances
            if drained {
                finishRetirement(leaving, of: generation, timeout: timeout)
            } else {
                // The generation's parts (wrapper states) are in use until its last request leaves.
                logger.error("generation \(generation.number) still has \(generation.inFlight.load(ordering: .relaxed)) request(s) in flight after the drain timeout (\(timeout)): \(instances.map(\.alias).joined(separator: ", ")) stopped; destroyed once the last request leaves")
                running.ledger.lingering.append(LingeringGeneration(generation: generation, instances: leaving))
                destroyWhenDrained(generation)
            }
            phase = .running(running)
            publish(phase)
        }
        return drained
    }

    /// Destroys a lingering generation's instances in the background once its last request left.
    private func destroyWhenDrained(_ generation: Generation) {
        DispatchQueue.global().async { [self] in
            _ = waitForDrain(generation, timeout: nil)
            // Finds it in whatever phase the runtime is in by then.
            control.withLock { phase in
                // Shutdown may have taken it over meanwhile.
                guard let lingering = phase.removeLingering(generation) else { return }
                finishRetirement(lingering.instances, of: generation, timeout: phase.config.drainTimeout)
                logger.info("generation \(generation.number) drained late; \(lingering.instances.map(\.alias).joined(separator: ", ")) destroyed")
                publish(phase)
            }
        }
    }

    /// Destroys and unloads stopped `instances` of a drained `generation`:
    /// detaches them from the host API, releases the generation's wrapper
    /// states, destroys them in reverse order and gives back their uses of their
    /// libraries (the last use unloads a C library; a Swift image stays mapped and is counted).
    /// - Parameter timeout: How long to wait for host-API calls the plugins began just before the detach.
    func finishRetirement(_ instances: [PluginInstance], of generation: Generation, timeout: Duration) {
        for instance in instances { instance.context.attach(to: nil) }
        // Host-API calls the plugins began just before the detach.
        _ = waitForDrain(generation, timeout: timeout)
        generation.releaseParts()
        for instance in instances.reversed() { instance.destroy() }
        let retained = instances.filter { $0.loaded.library.release() == .keptMapped }.count
        published.withLock { $0.retainedSwiftImages += retained }
    }

    /// Generations whose requests outlived the drain timeout and whose replaced plugins are not destroyed yet.
    public var lingeringGenerations: Int {
        published.withLock { $0.lingering }
    }
}
