import Logging

/// What plugins register while they run `create`: subscriptions and services.
/// Frozen into a ``Generation`` once every `create` has returned.
final class GenerationBuilder {
    /// Subscriptions, ordered when frozen.
    let events = EventTableBuilder()
    /// Services by id, with the config order of their provider.
    private(set) var services: [String: (pointer: UnsafeRawPointer, order: Int, alias: String)] = [:]
    let logger: Logger

    init(logger: Logger) { self.logger = logger }

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
