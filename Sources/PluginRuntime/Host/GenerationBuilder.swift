import Logging

/// What plugins register while they run `create`: subscriptions and services.
/// Frozen into a ``Generation`` once every `create` has returned.
final class GenerationBuilder {
    /// Subscriptions, ordered when frozen.
    let events = EventTableBuilder()
    /// Services by id, with the config order of their provider.
    private(set) var services: [String: (pointer: UnsafeRawPointer, order: Int, alias: String)] = [:]
    /// Endpoints registered through the HTTP extension, in registration order.
    var endpoints: [EndpointRegistration] = []
    /// Wrappers registered through the HTTP extension, in registration order.
    var wrappers: [WrapperRegistration] = []
    /// Registrations refused while plugins ran `create` (the plugin itself still loads).
    var warnings: [PluginError] = []
    /// Whether plugins get the HTTP extension.
    let servesHTTP: Bool
    private var sequence = 0
    let logger: Logger

    init(logger: Logger, servesHTTP: Bool) {
        self.logger = logger
        self.servesHTTP = servesHTTP
    }

    /// The next registration sequence number.
    func nextSequence() -> Int {
        sequence += 1
        return sequence
    }

    /// Registers `pointer` under `id` unless another plugin provided it first.
    /// - Returns: The alias that already provides `id`, or nil when registered.
    func provide(_ id: String, pointer: UnsafeRawPointer, order: Int, alias: String) -> String? {
        if let existing = services[id] { return existing.alias }
        services[id] = (pointer, order, alias)
        return nil
    }

    /// Services whose providers are not in `excluded`.
    func frozenServices(excluding excluded: Set<Int>) -> [String: UnsafeRawPointer] {
        services.filter { !excluded.contains($0.value.order) }.mapValues(\.pointer)
    }
}
