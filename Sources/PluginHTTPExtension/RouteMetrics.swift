public import Metrics
public import PluginRuntime

/// The figures of one served route, through swift-metrics: requests by status
/// class, their latency, and the requests each of its wrappers answered without
/// calling next. Made once when the route's table is frozen, so a request only
/// increments (no lookup by name); a later generation's route with the same
/// labels reports into the same series (backends keep one per name and labels).
public final class RouteMetrics: Sendable {
    /// 1xx … 5xx.
    private let byStatusClass: [Counter]
    private let duration: Timer
    /// By step index: the route's wrappers.
    private let shortCircuits: [Int: Counter]

    init(alias: String, endpoint: String, wrappers: [(step: Int, alias: String, name: String)]) {
        byStatusClass = (1...5).map {
            Counter(label: MetricNames.httpRequests, dimensions: [("alias", alias), ("endpoint", endpoint), ("status", "\($0)xx")])
        }
        duration = Timer(label: MetricNames.httpRequestDuration, dimensions: [("alias", alias), ("endpoint", endpoint)])
        shortCircuits = Dictionary(uniqueKeysWithValues: wrappers.map { wrapper in
            (wrapper.step, Counter(label: MetricNames.wrapperShortCircuits,
                                   dimensions: [("alias", wrapper.alias), ("wrapper", wrapper.name), ("endpoint", endpoint)]))
        })
    }

    /// Counts one answered request with its status and how long it took.
    public func record(status: Int, nanoseconds: Int64) {
        byStatusClass[RouteMetrics.statusClassIndex(status)].increment()
        duration.recordNanoseconds(nanoseconds)
    }

    /// The chain stopped at step `index` without reaching the endpoint: a wrapper's short-circuit
    /// when that step is a wrapper (a parameter parsing refusal is not one).
    func countStop(atStep index: Int) {
        shortCircuits[index]?.increment()
    }

    /// 0 for 1xx … 4 for 5xx (anything outside 100–599 counts with the nearest class).
    public static func statusClassIndex(_ status: Int) -> Int {
        min(max(status / 100, 1), 5) - 1
    }
}
