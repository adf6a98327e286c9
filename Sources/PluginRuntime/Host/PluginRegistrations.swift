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
    /// The extensions the runtime offers, and this instance's store for each (same order).
    let extensionSet: ExtensionSet
    private(set) var extensions: [any ExtensionRegistrations] = []
    /// Services that plugins earlier in config order provide (id → alias): a second provider is refused.
    private let claimedServices: [String: String]

    init(extensions: ExtensionSet, claimedServices: [String: String]) {
        self.extensionSet = extensions
        self.claimedServices = claimedServices
    }

    /// Makes this instance's store for each extension, once its owner exists (before `create`).
    func openExtensions(for owner: PluginOwner) {
        extensions = extensionSet.extensions.map { $0.makeRegistrations(for: owner) }
    }

    /// Registrations the extensions refused while the plugin ran `create` (the plugin itself still loads).
    var warnings: [PluginError] { extensions.flatMap(\.warnings) }

    func subscribe(_ id: UInt32, priority: Int32, _ subscriber: EventTable.Subscriber) {
        events.append(Subscription(id: id, priority: priority, subscriber: subscriber))
    }

    func subscribeCheck(_ id: UInt32, priority: Int32, _ check: EventTable.CheckSubscriber) {
        checks.append(CheckSubscription(id: id, priority: priority, check: check))
    }

    /// Forgets everything, once the instance is destroyed.
    func clear() {
        events = []
        checks = []
        services = []
        extensions.forEach { $0.clear() }
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
