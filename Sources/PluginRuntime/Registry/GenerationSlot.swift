import Synchronization

/// An atomically replaceable pointer to a ``Generation`` whose readers are
/// counted, so a retired generation is torn down only once nobody uses it.
///
/// A reader loads the pointer, counts itself in on that generation, then
/// checks the pointer is still the same; if a swap came between, it counts
/// itself out and tries again. The writer swaps first and waits for the old
/// generation's count to reach zero second (all sequentially consistent), so
/// every reader that saw the old generation is waited for. The slot does not
/// retain: the runtime keeps each generation alive until well after it is
/// retired (see ``PluginRuntime``).
final class GenerationSlot: @unchecked Sendable {
    // @unchecked Sendable: the only member is an atomic (raw pointers are not Sendable).
    private let pointer = Atomic<UnsafeRawPointer?>(nil)

    init() {}

    /// The generation now in the slot, uncounted: a snapshot for status pages.
    var snapshot: Generation? {
        pointer.load(ordering: .sequentiallyConsistent).map { Unmanaged<Generation>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Puts `generation` (or nothing) in the slot; the caller keeps it alive.
    func store(_ generation: Generation?) {
        pointer.store(generation.map { UnsafeRawPointer(Unmanaged.passUnretained($0).toOpaque()) }, ordering: .sequentiallyConsistent)
    }

    /// The generation in the slot, counted in its ``Generation/inFlight`` until the caller
    /// subtracts it again (see ``GenerationLease``); nil when empty.
    func acquire() -> Generation? {
        while true {
            guard let raw = pointer.load(ordering: .sequentiallyConsistent) else { return nil }
            let generation = Unmanaged<Generation>.fromOpaque(raw).takeUnretainedValue()
            generation.inFlight.add(1, ordering: .sequentiallyConsistent)
            if pointer.load(ordering: .sequentiallyConsistent) == raw { return generation }
            generation.inFlight.subtract(1, ordering: .sequentiallyConsistent)
        }
    }

    /// Runs `body` on the generation in the slot, counted in its ``Generation/inFlight``; nil when empty.
    @inline(__always)
    func withCurrent<R, E: Error>(_ body: (Generation) throws(E) -> R) throws(E) -> R? {
        while true {
            guard let raw = pointer.load(ordering: .sequentiallyConsistent) else { return nil }
            let generation = Unmanaged<Generation>.fromOpaque(raw).takeUnretainedValue()
            generation.inFlight.add(1, ordering: .sequentiallyConsistent)
            if pointer.load(ordering: .sequentiallyConsistent) == raw {
                defer { generation.inFlight.subtract(1, ordering: .sequentiallyConsistent) }
                return try body(generation)
            }
            generation.inFlight.subtract(1, ordering: .sequentiallyConsistent)
        }
    }
}

/// A generation held in flight by work that runs elsewhere (see
/// ``PluginRuntime/leaseCurrentGeneration()``): a reload retires it only after
/// ``release()``. Release exactly once, after the last plugin call.
public struct GenerationLease: @unchecked Sendable {
    // @unchecked Sendable: Generation is Sendable; the count is atomic.
    /// The generation held.
    public let generation: Generation

    /// Gives the generation back.
    public func release() {
        generation.inFlight.subtract(1, ordering: .sequentiallyConsistent)
    }
}
