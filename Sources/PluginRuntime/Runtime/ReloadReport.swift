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
        for (label, aliases) in [("added", added), ("changed", changed), ("re-created", recreated), ("removed", removed)] where !aliases.isEmpty {
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

extension ReloadReport {
    /// The report as one JSON object (for `/_plughost/reload`, the reload status file and `plughost reload`).
    public var json: String {
        func list(_ items: [String]) -> String { "[" + items.map(ConfigValue.jsonQuoted).joined(separator: ",") + "]" }
        let fields = [
            "\"succeeded\":\(succeeded)",
            "\"generation\":\(generation)",
            "\"started_at_ns\":\(startedAt)",
            "\"swap_latency_us\":\(swapLatency.wholeMicroseconds)",
            "\"drain_us\":\(drainTime.wholeMicroseconds)",
            "\"drain_timed_out\":\(drainTimedOut)",
            "\"added\":\(list(added))",
            "\"changed\":\(list(changed))",
            "\"recreated\":\(list(recreated))",
            "\"removed\":\(list(removed))",
            "\"unchanged\":\(list(unchanged))",
            "\"state_handed_over\":\(list(stateHandedOver))",
            "\"retained_swift_images\":\(retainedSwiftImages)",
            "\"problems\":\(list(problems.map(\.description)))",
            "\"summary\":\(ConfigValue.jsonQuoted(description))",
        ]
        return "{" + fields.joined(separator: ",") + "}"
    }
}
