import Foundation
import PluginRuntime

/// One worker's report of a reload round, as its ``ReloadReport`` JSON reads.
struct WorkerReloadReport: Codable, Sendable {
    var succeeded: Bool
    var generation: Int
    var summary: String
    var problems: [String]
    var added: [String]
    var changed: [String]
    var removed: [String]
    var quarantined: [String]?
    /// Filled in by the supervisor: the worker's pid.
    var pid: Int32?
}

/// The report of a reload across every worker: what `plughost reload`, the
/// reload file and `POST /_plughost/reload` show with `--workers N`.
/// Its keys include those of ``ReloadReport/Outcome`` (`succeeded`, `started_at_ns`, `summary`).
struct CombinedReload: Codable, Sendable {
    var succeeded: Bool
    var startedAt: UInt64
    var summary: String
    var problems: [String]
    var workers: [WorkerReloadReport]
    /// What the round changed: the same in every worker (they read the same folder), shown
    /// once here, as a one-process report shows it; empty when it failed.
    var added: [String] = []
    var changed: [String] = []
    var removed: [String] = []
    var quarantined: [String] = []

    private enum CodingKeys: String, CodingKey {
        case succeeded, summary, problems, workers, added, changed, removed, quarantined
        case startedAt = "started_at_ns"
    }

    /// The round's outcome from each worker's final report (nil: it died or never answered).
    init(startedAt: UInt64, reports: [(pid: Int32, report: WorkerReloadReport?)]) {
        self.startedAt = startedAt
        workers = reports.map { pid, report in
            var report = report ?? WorkerReloadReport(succeeded: false, generation: 0, summary: "no report (the worker died or did not answer)",
                                                      problems: ["worker \(pid) did not report"], added: [], changed: [], removed: [])
            report.pid = pid
            return report
        }
        succeeded = !workers.isEmpty && workers.allSatisfy(\.succeeded)
        if succeeded, let first = workers.first {
            added = first.added
            changed = first.changed
            removed = first.removed
            quarantined = first.quarantined ?? []
        }
        problems = workers.flatMap { worker in worker.problems.map { "worker \(worker.pid ?? 0): \($0)" } }
        if workers.isEmpty {
            summary = "reload failed: no worker serves"
        } else if succeeded {
            summary = "all \(workers.count) worker(s) swapped: " + workers[0].summary
        } else {
            let failed = workers.filter { !$0.succeeded && !$0.problems.allSatisfy { $0.contains("another worker") } }
            let named = (failed.isEmpty ? workers.filter { !$0.succeeded } : failed).map { "worker \($0.pid ?? 0): \($0.problems.first ?? $0.summary)" }
            summary = "reload failed; every worker keeps its generation (prepared everywhere, swapped nowhere): " + named.joined(separator: "; ")
        }
    }

    /// A round that failed before any worker was asked.
    init(startedAt: UInt64, failure: String) {
        self.startedAt = startedAt
        succeeded = false
        summary = "reload failed: \(failure)"
        problems = [failure]
        workers = []
    }

    /// One JSON object, keys sorted.
    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
