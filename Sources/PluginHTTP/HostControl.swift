public import PluginRuntime

/// What the admin endpoints ask of the host around its runtime: reloads
/// (`POST /_plughost/reload`) and, when a supervisor runs this process as one
/// of its workers, the supervisor's view and the whole host's figures and
/// listings (`/_plughost/plugins`, `/_plughost/metrics`).
public protocol HostControl: Sendable {
    /// Runs a reload (with workers: a round across all of them) and returns
    /// whether it succeeded, with its report as one JSON object.
    func reloadForAdmin() async -> (succeeded: Bool, json: String)
    /// The supervisor's view as a JSON object (workers, restarts, crashes,
    /// quarantines), or nil when no supervisor runs this process.
    var supervisorView: String? { get }
    /// The whole host when several processes serve it (nil for one process), or
    /// ``HostView/unavailable`` when its supervisor did not answer in time.
    func hostView() async -> HostView?
}

/// The whole host as a supervisor put it together: figures and listings of every worker.
public struct HostView: Sendable {
    /// One worker's listing (`/_plughost/plugins` as that worker answers it).
    public struct Worker: Sendable {
        public var pid: Int32
        public var listing: String

        /// Worker `pid`'s listing.
        public init(pid: Int32, listing: String) {
            self.pid = pid
            self.listing = listing
        }
    }

    /// The host's metrics in Prometheus' text format (counters summed over every
    /// worker, those that ended included; gauges labelled by worker).
    public var metrics: String
    /// Every worker that answered.
    public var workers: [Worker]
    /// Workers that did not answer in time.
    public var missing: [Int32]
    /// False when the supervisor did not answer: nothing else is filled in.
    public var available: Bool

    /// The view of `workers` with the merged `metrics`.
    public init(metrics: String, workers: [Worker], missing: [Int32]) {
        self.metrics = metrics
        self.workers = workers
        self.missing = missing
        available = true
    }

    /// The supervisor did not answer in time.
    public static let unavailable: HostView = {
        var view = HostView(metrics: "", workers: [], missing: [])
        view.available = false
        return view
    }()
}

extension ReloadScheduler: HostControl {
    /// Reloads this process's runtime.
    public func reloadForAdmin() async -> (succeeded: Bool, json: String) {
        let report = await reload()
        return (report.succeeded, report.json)
    }

    /// None: a scheduler reloads one process.
    public var supervisorView: String? { nil }

    /// None: this process is the whole host.
    public func hostView() async -> HostView? { nil }
}
