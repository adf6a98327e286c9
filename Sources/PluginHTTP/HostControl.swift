public import PluginRuntime

/// What the admin endpoints ask of the host around its runtime: reloads
/// (`POST /_plughost/reload`) and, when a supervisor runs this process as one
/// of its workers, the supervisor's view (`/_plughost/plugins`).
public protocol HostControl: Sendable {
    /// Runs a reload (with workers: a round across all of them) and returns
    /// whether it succeeded, with its report as one JSON object.
    func reloadForAdmin() async -> (succeeded: Bool, json: String)
    /// The supervisor's view as a JSON object (workers, restarts, crashes,
    /// quarantines), or nil when no supervisor runs this process.
    var supervisorView: String? { get }
}

extension ReloadScheduler: HostControl {
    /// Reloads this process's runtime.
    public func reloadForAdmin() async -> (succeeded: Bool, json: String) {
        let report = await reload()
        return (report.succeeded, report.json)
    }

    /// None: a scheduler reloads one process.
    public var supervisorView: String? { nil }
}
