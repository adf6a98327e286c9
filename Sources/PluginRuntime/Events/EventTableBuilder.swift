/// Collects the subscriptions of a generation's instances, then freezes them
/// into an ``EventTable`` in dispatch order: priority ascending, then the plugin's
/// config order, then subscription order.
final class EventTableBuilder {
    private struct Pending<Element> {
        let id: UInt32
        let priority: Int32
        let pluginOrder: Int
        let sequence: Int
        let element: Element
    }

    private var events: [Pending<EventTable.Subscriber>] = []
    private var checks: [Pending<EventTable.CheckSubscriber>] = []
    private var sequence = 0

    func add(_ id: UInt32, priority: Int32, pluginOrder: Int, subscriber: EventTable.Subscriber) {
        sequence += 1
        events.append(Pending(id: id, priority: priority, pluginOrder: pluginOrder, sequence: sequence, element: subscriber))
    }

    func add(_ id: UInt32, priority: Int32, pluginOrder: Int, check: EventTable.CheckSubscriber) {
        sequence += 1
        checks.append(Pending(id: id, priority: priority, pluginOrder: pluginOrder, sequence: sequence, element: check))
    }

    /// The frozen table.
    func build() -> EventTable {
        EventTable(events: ordered(events), checks: ordered(checks))
    }

    private func ordered<Element>(_ pending: [Pending<Element>]) -> [(UInt32, Element)] {
        pending
            .sorted { ($0.priority, $0.pluginOrder, $0.sequence) < ($1.priority, $1.pluginOrder, $1.sequence) }
            .map { ($0.id, $0.element) }
    }
}
