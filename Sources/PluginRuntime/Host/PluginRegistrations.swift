/// What one plugin instance registered while its `create` ran: subscriptions,
/// services, endpoints and wrappers, in registration order.
///
/// Kept with the instance for its whole life, so a generation can be
/// assembled from any ordered list of instances: a reload that keeps a plugin
/// reuses what it registered instead of creating it again.
final class PluginRegistrations {
    /// One event subscription.
    struct Subscription {
        let id: UInt32
        let priority: Int32
        let subscriber: EventTable.Subscriber
    }

    /// One check subscription.
    struct CheckSubscription {
        let id: UInt32
        let priority: Int32
        let check: EventTable.CheckSubscriber
    }

    /// Event subscriptions, in registration order.
    private(set) var events: [Subscription] = []
    /// Check subscriptions, in registration order.
    private(set) var checks: [CheckSubscription] = []
    /// Services by id, in registration order.
    private(set) var services: [(id: String, pointer: UnsafeRawPointer)] = []
    /// Endpoints registered through the HTTP extension, in registration order.
    var endpoints: [EndpointRegistration] = []
    /// Wrappers registered through the HTTP extension, in registration order.
    var wrappers: [WrapperRegistration] = []
    /// Registrations refused while the plugin ran `create` (the plugin itself still loads).
    var warnings: [PluginError] = []
    /// Whether the plugin gets the HTTP extension.
    let servesHTTP: Bool
    /// Services that plugins earlier in config order provide (id → alias): a second provider is refused.
    private let claimedServices: [String: String]

    init(servesHTTP: Bool, claimedServices: [String: String]) {
        self.servesHTTP = servesHTTP
        self.claimedServices = claimedServices
    }

    func subscribe(_ id: UInt32, priority: Int32, _ subscriber: EventTable.Subscriber) {
        events.append(Subscription(id: id, priority: priority, subscriber: subscriber))
    }

    func subscribeCheck(_ id: UInt32, priority: Int32, _ check: EventTable.CheckSubscriber) {
        checks.append(CheckSubscription(id: id, priority: priority, check: check))
    }

    /// Forgets everything, once the instance is destroyed: endpoints and wrappers
    /// refer back to their owner's context, a cycle that would keep it alive.
    func clear() {
        events = []
        checks = []
        services = []
        endpoints = []
        wrappers = []
    }

    /// Registers `pointer` under `id` unless an earlier plugin (or this one) provides it already.
    /// - Returns: The alias that already provides `id`, or nil when registered.
    func provide(_ id: String, pointer: UnsafeRawPointer, alias: String) -> String? {
        if let owner = claimedServices[id] { return owner }
        if services.contains(where: { $0.id == id }) { return alias }
        services.append((id, pointer))
        return nil
    }
}
