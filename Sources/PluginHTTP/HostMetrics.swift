#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import Metrics
public import class Prometheus.PrometheusCollectorRegistry
import struct Prometheus.PrometheusMetricsFactory
public import PluginRuntime
import PluginHTTPExtension
import Synchronization

/// What `GET /_plughost/metrics` exports: a Prometheus registry that swift-metrics
/// reports into, the host's request counters, and the supervisor's figures a
/// worker was sent. Every figure is a swift-metrics object; this type only
/// brings the read-on-demand ones up to date before the registry is written out.
public final class HostMetrics: Sendable {
    /// The registry the exposition is written from.
    public let registry: PrometheusCollectorRegistry
    /// Requests no plugin endpoint served, 1xx … 5xx.
    let unrouted: [Counter]
    /// Made with the first supervisor view (a host without workers exports none of these).
    private let supervisor = Mutex<SupervisorFigures?>(nil)

    /// Figures for `registry`; the swift-metrics objects of the runtime and the routes
    /// report into it only when it is the bootstrapped backend (see ``bootstrap()``).
    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        unrouted = (1...5).map { Counter(label: MetricNames.httpUnrouted, dimensions: [("status", "\($0)xx")]) }
    }

    /// Bootstraps swift-metrics with a Prometheus backend (once per process) and returns its figures.
    public static func bootstrap() -> HostMetrics {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return HostMetrics(registry: registry)
    }

    /// Counts a request the host answered itself (no plugin endpoint).
    func countUnrouted(status: Int) {
        unrouted[RouteMetrics.statusClassIndex(status)].increment()
    }

    /// The Prometheus text exposition, with `runtime`'s gauges and counts and the
    /// supervisor's view (`/_plughost/plugins`' `supervisor`, when a worker has one) brought up to date.
    func exposition(runtime: PluginRuntime, supervisorView: String?) -> String {
        runtime.refreshMetrics()
        if let supervisorView, let view = try? JSONDecoder().decode(SupervisorFigures.View.self, from: Data(supervisorView.utf8)) {
            supervisor.withLock { figures in
                if figures == nil { figures = SupervisorFigures() }
                figures!.update(view)
            }
        }
        return registry.emitToString()
    }
}

/// The supervisor's figures as swift-metrics objects: gauges set, counters grown by what the view added.
private struct SupervisorFigures: Sendable {
    /// The part of the supervisor's view read here.
    struct View: Decodable {
        struct Worker: Decodable {
            var serving: Bool
            var restarts: Int
        }
        struct Quarantined: Decodable {
            var alias: String
        }
        var workers: [Worker]
        var crashes: [String: Int]
        var hangs: [String: Int]?
        var quarantined: [Quarantined]
    }

    private let workers = Gauge(label: MetricNames.workers)
    private let restarts = Counter(label: MetricNames.workerRestarts)
    private let quarantined = Gauge(label: MetricNames.quarantined)
    private var crashCounters: [String: Counter] = [:]
    private var hangCounters: [String: Counter] = [:]
    private var lastRestarts = 0
    private var lastCrashes: [String: Int] = [:]
    private var lastHangs: [String: Int] = [:]

    mutating func update(_ view: View) {
        workers.record(view.workers.filter(\.serving).count)
        quarantined.record(view.quarantined.count)
        let restartCount = view.workers.reduce(0) { $0 + $1.restarts }
        if restartCount > lastRestarts { restarts.increment(by: Int64(restartCount - lastRestarts)) }
        lastRestarts = max(lastRestarts, restartCount)
        Self.grow(&crashCounters, &lastCrashes, to: view.crashes, label: MetricNames.crashes)
        Self.grow(&hangCounters, &lastHangs, to: view.hangs ?? [:], label: MetricNames.hangs)
    }

    /// Grows each alias's counter `label` by what `counts` added since `last`.
    private static func grow(_ counters: inout [String: Counter], _ last: inout [String: Int], to counts: [String: Int], label: String) {
        for (alias, count) in counts where count > last[alias, default: 0] {
            let counter = counters[alias] ?? Counter(label: label, dimensions: [("alias", alias)])
            counters[alias] = counter
            counter.increment(by: Int64(count - last[alias, default: 0]))
            last[alias] = count
        }
    }
}
