import CEventCounters
import Metrics
import Synchronization

/// Hands the event and check counts of this process (kept per thread by the
/// dispatch path, see `event_counters.h`) to swift-metrics counters, when a
/// metrics reader asks (a scrape): the counters grow by what was counted since
/// the last hand-over. One per process, as the counts are.
final class EventMetrics: Sendable {
    static let shared = EventMetrics()

    fileprivate struct State {
        var published = [UInt64](repeating: 0, count: Int(PH_COUNTED_EVENTS) + 1)
        var delivered = [UInt64](repeating: 0, count: Int(PH_COUNTED_EVENTS) + 1)
        var verdicts = [UInt64](repeating: 0, count: Int(PH_COUNTED_CHECK_SLOTS) * 3 + 3)
        var counters: [String: Counter] = [:]
    }

    private let state = Mutex(State())
    private static let verdictNames = ["allow", "deny", "abstain"]

    /// Adds what was counted since the last call to the swift-metrics counters.
    func handOver() {
        let eventLimit = Int(PH_COUNTED_EVENTS)
        var published = [UInt64](repeating: 0, count: eventLimit + 1)
        var delivered = [UInt64](repeating: 0, count: eventLimit + 1)
        var verdicts = [UInt64](repeating: 0, count: Int(PH_COUNTED_CHECK_SLOTS) * 3 + 3)
        ph_event_counters_read(&published, &delivered, &verdicts)
        let slots = CheckSlots.shared.all
        state.withLock { state in
            for id in 0...eventLimit where published[id] != state.published[id] || delivered[id] != state.delivered[id] {
                let event = id == eventLimit ? "(other)" : EventNames.shared.name(of: EventID(rawValue: UInt32(id))) ?? "(other)"
                state.add(published[id] - state.published[id], MetricNames.eventsPublished, [("event", event)])
                state.add(delivered[id] - state.delivered[id], MetricNames.eventsDelivered, [("event", event)])
                state.published[id] = published[id]
                state.delivered[id] = delivered[id]
            }
            for index in verdicts.indices where verdicts[index] != state.verdicts[index] {
                let slot = index / 3
                let (event, alias) = slot < slots.count
                    ? (EventNames.shared.name(of: EventID(rawValue: slots[slot].event)) ?? "(other)", slots[slot].alias)
                    : ("(other)", "(other)")
                state.add(verdicts[index] - state.verdicts[index], MetricNames.checkVerdicts,
                          [("event", event), ("alias", alias), ("verdict", Self.verdictNames[index % 3])])
                state.verdicts[index] = verdicts[index]
            }
        }
    }
}

extension EventMetrics.State {
    /// Adds `amount` to the counter `label` with `dimensions`, made on first use.
    fileprivate mutating func add(_ amount: UInt64, _ label: String, _ dimensions: [(String, String)]) {
        guard amount > 0 else { return }
        let key = label + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
        let counter = counters[key] ?? Counter(label: label, dimensions: dimensions)
        counters[key] = counter
        counter.increment(by: Int64(clamping: amount))
    }
}
