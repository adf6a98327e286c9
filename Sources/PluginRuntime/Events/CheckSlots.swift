import Synchronization

/// Numbers each (check event, alias) pair once for the life of the process, so a
/// check subscriber's verdicts are counted in a fixed slot of the thread-local
/// counters (see `event_counters.h`) across reloads: a new build of the same
/// alias counts on where the old one stopped.
final class CheckSlots: Sendable {
    static let shared = CheckSlots()

    /// One numbered pair.
    struct Slot: Sendable {
        let event: UInt32
        let alias: String
    }

    private struct State {
        var numbers: [String: UInt32] = [:]
        var slots: [Slot] = []
    }

    private let state = Mutex(State())

    /// The slot of `alias`'s subscription to check `event`, numbered on first use.
    func slot(event: UInt32, alias: String) -> UInt32 {
        let key = "\(event) \(alias)"
        return state.withLock { state in
            if let number = state.numbers[key] { return number }
            let number = UInt32(state.slots.count)
            state.numbers[key] = number
            state.slots.append(Slot(event: event, alias: alias))
            return number
        }
    }

    /// Every numbered pair, in slot order.
    var all: [Slot] { state.withLock { $0.slots } }
}
