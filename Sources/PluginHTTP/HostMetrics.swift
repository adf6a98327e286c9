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

/// What `GET /_plughost/metrics` exports: a Prometheus registry that swift-metrics
/// reports into and the host's request counters. Every figure is a swift-metrics
/// object; this type only brings the read-on-demand ones up to date before the
/// registry is written out. With workers, each worker's exposition is one part
/// of the host's: its supervisor sums them (and adds its own figures: workers,
/// restarts, crashes, hangs, quarantines), see `MetricsMerge` in PluginSupervisor.
public final class HostMetrics: Sendable {
    /// The registry the exposition is written from.
    public let registry: PrometheusCollectorRegistry
    /// Requests no plugin endpoint served, 1xx … 5xx.
    let unrouted: [Counter]

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

    /// This process's Prometheus text exposition, with `runtime`'s gauges and counts brought up to date.
    public func exposition(runtime: PluginRuntime) -> String {
        runtime.refreshMetrics()
        return registry.emitToString()
    }
}
