#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What one reload did, or why it changed nothing.
public struct ReloadReport: Sendable, CustomStringConvertible {
    /// Whether the new generation was swapped in. When false, the old one keeps serving untouched.
    public var succeeded: Bool
    /// The generation serving after the reload.
    public var generation: Int
    /// Aliases loaded for the first time.
    public var added: [String] = []
    /// Aliases whose library, manifest line or config changed, replaced by a new build.
    public var changed: [String] = []
    /// Aliases re-created because a service they use was replaced or removed.
    public var recreated: [String] = []
    /// Aliases unloaded.
    public var removed: [String] = []
    /// Aliases that were running and are now left out because their build is quarantined.
    public var quarantined: [String] = []
    /// Aliases left running as they were.
    public var unchanged: [String] = []
    /// Aliases whose state was handed from the old instance to the new one.
    public var stateHandedOver: [String] = []
    /// Why the reload failed (or, on success, nothing).
    public var problems: [PluginError] = []
    /// When the reload began, in nanoseconds since the Unix epoch (``WallClock``).
    public var startedAt: UInt64
    /// From the start of the reload until the new generation served (or the failure was known).
    public var swapLatency: Duration = .zero
    /// How long the old generation took to drain its in-flight requests.
    public var drainTime: Duration = .zero
    /// Whether the drain hit the deadline (the old plugins were stopped anyway; their images stay mapped).
    public var drainTimedOut = false
    /// Swift images that stay mapped in the process so far (never `dlclose`d).
    public var retainedSwiftImages = 0

    /// One line per outcome, then one per problem.
    public var description: String {
        guard succeeded else {
            return "reload failed; generation \(generation) keeps serving\n" + problems.map { "  \($0)" }.joined(separator: "\n")
        }
        var parts: [String] = []
        for (label, aliases) in [("added", added), ("changed", changed), ("re-created", recreated), ("removed", removed),
                                 ("quarantined", quarantined)] where !aliases.isEmpty {
            parts.append("\(label): \(aliases.joined(separator: ", "))")
        }
        if parts.isEmpty { parts.append("nothing changed") }
        let handoff = stateHandedOver.isEmpty ? "" : "; state handed over: \(stateHandedOver.joined(separator: ", "))"
        return "reloaded into generation \(generation) in \(Self.milliseconds(swapLatency)) ms (drain \(Self.milliseconds(drainTime)) ms): "
            + parts.joined(separator: "; ") + handoff
    }

    /// `duration` in milliseconds with two decimals.
    static func milliseconds(_ duration: Duration) -> String {
        let micros = duration.wholeMicroseconds
        return "\(micros / 1000).\(String(format2: Int(micros % 1000) / 10))"
    }
}

extension String {
    /// `value` (0...99) as two digits.
    init(format2 value: Int) {
        self = value < 10 ? "0\(value)" : "\(value)"
    }
}

extension ReloadReport: Codable {
    private enum CodingKeys: String, CodingKey {
        case succeeded, generation, added, changed, recreated, removed, unchanged, quarantined, problems, summary
        case problemDetails = "problem_details"
        case startedAt = "started_at_ns", swapLatency = "swap_latency_us", drainTime = "drain_us"
        case drainTimedOut = "drain_timed_out", stateHandedOver = "state_handed_over", retainedSwiftImages = "retained_swift_images"
    }

    /// Encodes the report as the admin endpoint, the reload status file and `plughost reload` read it:
    /// durations in whole microseconds, problems as their one-line descriptions, and a one-line summary.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(succeeded, forKey: .succeeded)
        try container.encode(generation, forKey: .generation)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(swapLatency.wholeMicroseconds, forKey: .swapLatency)
        try container.encode(drainTime.wholeMicroseconds, forKey: .drainTime)
        try container.encode(drainTimedOut, forKey: .drainTimedOut)
        try container.encode(added, forKey: .added)
        try container.encode(changed, forKey: .changed)
        try container.encode(recreated, forKey: .recreated)
        try container.encode(removed, forKey: .removed)
        try container.encode(unchanged, forKey: .unchanged)
        try container.encode(quarantined, forKey: .quarantined)
        try container.encode(stateHandedOver, forKey: .stateHandedOver)
        try container.encode(retainedSwiftImages, forKey: .retainedSwiftImages)
        try container.encode(problems.map(\.description), forKey: .problems)
        try container.encode(problems, forKey: .problemDetails)
        try container.encode(description, forKey: .summary)
    }

    /// Decodes what ``encode(to:)`` wrote (a worker's report, read by its supervisor):
    /// the problems from `problem_details`, so nothing of them is lost.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        succeeded = try container.decode(Bool.self, forKey: .succeeded)
        generation = try container.decode(Int.self, forKey: .generation)
        startedAt = try container.decode(UInt64.self, forKey: .startedAt)
        swapLatency = .microseconds(try container.decode(Int64.self, forKey: .swapLatency))
        drainTime = .microseconds(try container.decode(Int64.self, forKey: .drainTime))
        drainTimedOut = try container.decode(Bool.self, forKey: .drainTimedOut)
        added = try container.decode([String].self, forKey: .added)
        changed = try container.decode([String].self, forKey: .changed)
        recreated = try container.decode([String].self, forKey: .recreated)
        removed = try container.decode([String].self, forKey: .removed)
        unchanged = try container.decode([String].self, forKey: .unchanged)
        quarantined = try container.decode([String].self, forKey: .quarantined)
        stateHandedOver = try container.decode([String].self, forKey: .stateHandedOver)
        retainedSwiftImages = try container.decode(Int.self, forKey: .retainedSwiftImages)
        problems = try container.decode([PluginError].self, forKey: .problemDetails)
    }

    /// The report as one JSON object (see ``encode(to:)``).
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding strings, numbers and booleans cannot fail.
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// What a reader of the JSON needs to know: `plughost reload` decodes this.
    public struct Outcome: Decodable, Sendable {
        /// Whether the new generation serves.
        public var succeeded: Bool
        /// When the reload began (``WallClock`` nanoseconds).
        public var startedAt: UInt64
        /// The one-line summary.
        public var summary: String

        private enum CodingKeys: String, CodingKey {
            case succeeded, summary
            case startedAt = "started_at_ns"
        }
    }
}

extension ReloadReport {
    /// A report of a reload that began at `startedAt` (``WallClock`` nanoseconds), so far
    /// with no outcome but `succeeded` (a supervisor writes one for a worker that could not).
    public init(succeeded: Bool, generation: Int, startedAt: UInt64, problems: [PluginError] = []) {
        self.succeeded = succeeded
        self.generation = generation
        self.startedAt = startedAt
        self.problems = problems
    }
}

extension ReloadReport: Equatable {}
