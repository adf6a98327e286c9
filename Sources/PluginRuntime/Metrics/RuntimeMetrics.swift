import Metrics
import Synchronization

/// The runtime's own figures, through swift-metrics: reloads as they happen,
/// and gauges read when a metrics reader asks (``PluginRuntime/refreshMetrics()``).
/// They go to whatever backend the program bootstrapped (`MetricsSystem.bootstrap`);
/// without one they cost a call into swift-metrics' no-op handlers.
struct RuntimeMetrics: Sendable {
    private let succeeded = Counter(label: MetricNames.reloads, dimensions: [("outcome", "succeeded")])
    private let failed = Counter(label: MetricNames.reloads, dimensions: [("outcome", "failed")])
    private let reloadDuration = Timer(label: MetricNames.reloadDuration)
    private let generation = Gauge(label: MetricNames.generation)
    private let draining = Gauge(label: MetricNames.drainingGenerations)
    private let lingering = Gauge(label: MetricNames.lingeringGenerations)
    private let retained = Gauge(label: MetricNames.retainedSwiftImages)
    /// Every state an alias can be in, so a state that empties reads 0 instead of its last value.
    private let byState: [(PluginStatus.State, Gauge)] = [PluginStatus.State.loaded, .running, .stopped, .failed, .disabled, .quarantined]
        .map { ($0, Gauge(label: MetricNames.plugins, dimensions: [("state", $0.rawValue)])) }
    /// Per running alias: isolated or not, and an isolated one's plugin process.
    private let isolation = IsolationMetrics()

    /// Counts one reload by outcome and records how long it took to serve (or fail).
    func recordReload(_ report: ReloadReport) {
        (report.succeeded ? succeeded : failed).increment()
        let (seconds, attoseconds) = report.swapLatency.components
        reloadDuration.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// Sets the gauges from `runtime` now.
    func refresh(_ runtime: PluginRuntime) {
        generation.record(runtime.generation?.number ?? 0)
        draining.record(runtime.drainingGenerations)
        lingering.record(runtime.lingeringGenerations)
        retained.record(runtime.retainedSwiftImages)
        let statuses = runtime.statuses
        for (state, gauge) in byState {
            gauge.record(statuses.filter { $0.state == state && $0.alias != nil }.count)
        }
        isolation.refresh(statuses)
    }
}

/// The gauges of each running alias's isolation, made when an alias first runs and
/// destroyed (gone from the exposition) when it no longer does.
final class IsolationMetrics: Sendable {
    private struct Gauges {
        let isolated: Gauge
        /// Only for an isolated plugin.
        var process: (residentBytes: Gauge, restarts: Gauge)?
    }

    private let gauges = Mutex<[String: Gauges]>([:])

    /// Sets the gauges from `statuses` (read live: the plugin processes as they are now).
    func refresh(_ statuses: [PluginStatus]) {
        var running: [String: IsolationStatus] = [:]
        for status in statuses {
            if let alias = status.alias, let isolation = status.isolation { running[alias] = isolation }
        }
        gauges.withLock { gauges in
            for (alias, old) in gauges where running[alias] == nil {
                old.isolated.destroy()
                old.process?.residentBytes.destroy()
                old.process?.restarts.destroy()
                gauges[alias] = nil
            }
            for (alias, isolation) in running {
                let dimensions = [("alias", alias)]
                var entry = gauges[alias] ?? Gauges(isolated: Gauge(label: MetricNames.pluginIsolated, dimensions: dimensions))
                let isolated = isolation.mode == IsolationSettings.Mode.process.rawValue
                entry.isolated.record(isolated ? 1 : 0)
                if isolated {
                    let process = entry.process ?? (Gauge(label: MetricNames.pluginProcessResidentBytes, dimensions: dimensions),
                                                    Gauge(label: MetricNames.pluginProcessRestarts, dimensions: dimensions))
                    process.residentBytes.record(isolation.residentBytes ?? 0)
                    process.restarts.record(isolation.restarts ?? 0)
                    entry.process = process
                } else if let process = entry.process {
                    process.residentBytes.destroy()
                    process.restarts.destroy()
                    entry.process = nil
                }
                gauges[alias] = entry
            }
        }
    }
}

extension PluginRuntime {
    /// Brings the figures that are read rather than counted up to date (generation, draining
    /// and lingering generations, retained images, plugins by state) and hands the event and
    /// check counts of this process to their swift-metrics counters: call it before a metrics
    /// backend exports (plughost does, for each `GET /_plughost/metrics`).
    public func refreshMetrics() {
        metrics.refresh(self)
        EventMetrics.shared.handOver()
    }
}
