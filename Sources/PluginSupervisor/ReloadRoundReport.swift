#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
public import PluginRuntime

/// The report of a reload round across every worker: what `plughost reload`,
/// the reload file and `POST /_plughost/reload` show with `--workers N`.
///
/// Its keys include those of ``ReloadReport/Outcome`` (`succeeded`,
/// `started_at_ns`, `summary`); each worker's entry is that worker's own
/// ``ReloadReport`` with its `pid`.
public struct ReloadRoundReport: Codable, Sendable, Equatable {
    /// One worker's part of the round.
    public struct Worker: Codable, Sendable, Equatable {
        /// The worker.
        public var pid: Int32
        /// Its own report (for a worker that died or did not answer, one the supervisor wrote).
        public var report: ReloadReport

        /// The worker `pid`'s part, as `report` says.
        public init(pid: Int32, report: ReloadReport) {
            self.pid = pid
            self.report = report
        }

        private enum PidKey: String, CodingKey { case pid }

        /// Reads the report's keys and `pid` from one object.
        public init(from decoder: any Decoder) throws {
            report = try ReloadReport(from: decoder)
            pid = try decoder.container(keyedBy: PidKey.self).decode(Int32.self, forKey: .pid)
        }

        /// Writes the report's keys and `pid` into one object.
        public func encode(to encoder: any Encoder) throws {
            try report.encode(to: encoder)
            var container = encoder.container(keyedBy: PidKey.self)
            try container.encode(pid, forKey: .pid)
        }
    }

    /// Whether every worker swapped.
    public var succeeded: Bool
    /// When the round began (``WallClock`` nanoseconds).
    public var startedAt: UInt64
    /// One line: what changed, or which worker failed and why.
    public var summary: String
    /// Every worker's problems, each prefixed with its worker.
    public var problems: [String]
    /// Each worker's part, by pid.
    public var workers: [Worker]
    /// What the round changed: the same in every worker (they read the same folder), shown
    /// once here, as a one-process report shows it; empty when it failed.
    public var added: [String] = []
    /// Aliases replaced by a new build.
    public var changed: [String] = []
    /// Aliases unloaded.
    public var removed: [String] = []
    /// Aliases left out because their build is quarantined.
    public var quarantined: [String] = []

    private enum CodingKeys: String, CodingKey {
        case succeeded, summary, problems, workers, added, changed, removed, quarantined
        case startedAt = "started_at_ns"
    }

    /// The round's outcome from each worker's final report.
    public init(startedAt: UInt64, workers: [Worker]) {
        self.startedAt = startedAt
        self.workers = workers.sorted { $0.pid < $1.pid }
        succeeded = !workers.isEmpty && workers.allSatisfy(\.report.succeeded)
        if succeeded, let first = self.workers.first {
            added = first.report.added
            changed = first.report.changed
            removed = first.report.removed
            quarantined = first.report.quarantined
        }
        problems = self.workers.flatMap { worker in worker.report.problems.map { "worker \(worker.pid): \($0)" } }
        if workers.isEmpty {
            summary = "reload failed: no worker serves"
        } else if succeeded, let first = self.workers.first {
            summary = "all \(workers.count) worker(s) swapped: " + first.report.description
        } else {
            // The workers that failed on their own first; those that only undid their build because of them after.
            let failed = self.workers.filter { !$0.report.succeeded && !$0.report.problems.allSatisfy { $0.code == .reloadRefused && $0.reason.hasPrefix(Self.abortedPrefix) } }
            let named = (failed.isEmpty ? self.workers.filter { !$0.report.succeeded } : failed).map { worker in
                "worker \(worker.pid): \(worker.report.problems.first.map(\.description) ?? "failed")"
            }
            summary = "reload failed; every worker keeps its generation: " + named.joined(separator: "; ")
        }
    }

    /// A round that failed before any worker was asked.
    public init(startedAt: UInt64, failure: String) {
        self.startedAt = startedAt
        succeeded = false
        summary = "reload failed: \(failure)"
        problems = [failure]
        workers = []
    }

    /// How the reason of a worker that undid its build because the round failed elsewhere begins.
    public static let abortedPrefix = "aborted:"

    /// One JSON object, keys sorted.
    public var json: String { SortedJSON.text(of: self) }
}

/// JSON text with sorted keys, for the reports and views written to files and sent to workers.
enum SortedJSON {
    /// `value` as one JSON object with sorted keys (`{}` if it cannot be encoded).
    static func text(of value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
