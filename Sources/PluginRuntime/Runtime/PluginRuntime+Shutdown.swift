import Logging
import Synchronization

/// The steps of a shutdown, in order: take the generation out of service →
/// drain → stop → destroy → close → publish. They run holding ``PluginRuntime/control``.
extension PluginRuntime {
    /// Shuts the `running` runtime down.
    /// - Returns: What the stopped runtime keeps.
    func shutdownAlone(_ running: RunningState) -> StoppedState {
        let generation = running.generation
        let timeout = running.config.drainTimeout
        slot.store(nil)
        let drained = waitForDrain(generation, timeout: timeout)
        stopAll(generation)
        // Everything left goes the way of a retired generation, unless requests still run in it.
        let leftovers = [LingeringGeneration(generation: generation, instances: generation.instances + running.ledger.startFailed)]
            + running.ledger.lingering
        let undestroyed = destroyDrained(leftovers, serving: generation, servingDrained: drained, timeout: timeout)
        releaseParts(of: running.ledger.alive)
        let retained = close(running.ledger.abandonedLibraries)
        var stopped = StoppedState(config: running.config, statuses: running.statuses, lingering: undestroyed)
        for index in stopped.statuses.indices where stopped.statuses[index].state == .running {
            stopped.statuses[index].state = .stopped
        }
        published.withLock { $0.retainedSwiftImages += retained }
        publish(.stopped(stopped))
        logger.info("stopped \(generation.instances.count) plugin(s); \(retainedSwiftImages) Swift image(s) stay mapped")
        return stopped
    }

    /// Fires pre-shutdown, stops the plugins in reverse order (each preceded by plugin-unloaded), fires post-shutdown.
    private func stopAll(_ generation: Generation) {
        generation.publish(.preShutdown)
        for instance in generation.instances.reversed() {
            generation.publish(.pluginUnloaded, text: instance.alias)
            instance.stop()
        }
        generation.publish(.postShutdown)
    }

    /// Destroys, in order, each of `leftovers` whose requests drained within `timeout`
    /// (`serving`, the generation just taken out of service, was waited for already: `servingDrained`).
    /// - Returns: Those whose requests still run: their plugins are stopped and are never destroyed.
    private func destroyDrained(_ leftovers: [LingeringGeneration], serving: Generation, servingDrained: Bool,
                                timeout: Duration) -> [LingeringGeneration] {
        var undestroyed: [LingeringGeneration] = []
        for leftover in leftovers {
            let done = leftover.generation === serving ? servingDrained : waitForDrain(leftover.generation, timeout: timeout)
            guard done else {
                undestroyed.append(leftover)
                continue
            }
            finishRetirement(leftover.instances, of: leftover.generation, timeout: timeout)
        }
        let aliases = undestroyed.flatMap { $0.instances.map(\.alias) }
        if !aliases.isEmpty {
            logger.error("requests still running after the drain timeout (\(timeout)): \(aliases.joined(separator: ", ")) stopped but not destroyed")
        }
        return undestroyed
    }

    /// Releases the extension parts of every generation built that nothing runs on any more.
    private func releaseParts(of generations: [Generation]) {
        for built in generations where built.inFlight.load(ordering: .sequentiallyConsistent) == 0 {
            built.releaseParts()
        }
    }

    /// Gives back the libraries of plugins whose `create` failed.
    /// - Returns: How many Swift images stay mapped.
    private func close(_ libraries: [PluginLibrary]) -> Int {
        var retained = 0
        for library in libraries where library.release() == .keptMapped { retained += 1 }
        return retained
    }
}
