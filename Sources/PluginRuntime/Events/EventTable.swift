#if canImport(Glibc)
import Glibc
#endif
import CPluginABI

/// The subscribers of every event of one generation, frozen into flat arrays.
///
/// Dispatch reads only immutable memory: no lock (except the per-plugin lock
/// of a plugin that is not thread-safe), no allocation, no reference counting.
/// Subscribers of event `id` are `subscribers[starts[id] ..< starts[id + 1]]`.
public final class EventTable: @unchecked Sendable {
    // @unchecked Sendable: all memory is written in init and only read after;
    // it is freed in deinit, when no dispatch can be running on this table.

    /// One event subscriber: the plugin's callback and its lock if it needs one.
    struct Subscriber {
        let callback: ph_event_fn
        let userData: UnsafeMutableRawPointer?
        let lock: UnsafeMutablePointer<pthread_mutex_t>?
    }

    /// One check subscriber, with the alias to name when it denies.
    struct CheckSubscriber {
        let callback: ph_check_fn
        let userData: UnsafeMutableRawPointer?
        let lock: UnsafeMutablePointer<pthread_mutex_t>?
        let owner: UnsafePointer<CChar>
    }

    /// One past the highest event id this table knows.
    let idLimit: Int
    private let starts: UnsafeMutablePointer<Int32>
    private let subscribers: UnsafeMutablePointer<Subscriber>
    private let checkStarts: UnsafeMutablePointer<Int32>
    private let checks: UnsafeMutablePointer<CheckSubscriber>
    private let names: UnsafeMutablePointer<UnsafePointer<CChar>?>

    /// Freezes `events` and `checks` (each already in dispatch order) into flat arrays.
    init(events: [(UInt32, Subscriber)], checks: [(UInt32, CheckSubscriber)]) {
        let limit = max(EventNames.shared.idLimit, Int((events.map(\.0) + checks.map(\.0)).max() ?? 0) + 1)
        idLimit = limit
        (starts, subscribers) = Self.freeze(events, idLimit: limit)
        (checkStarts, self.checks) = Self.freeze(checks, idLimit: limit)
        names = .allocate(capacity: limit)
        for id in 0..<limit { names[id] = EventNames.shared.cName(of: EventID(rawValue: UInt32(id))) }
    }

    deinit {
        starts.deallocate()
        subscribers.deallocate()
        checkStarts.deallocate()
        checks.deallocate()
        names.deallocate()
    }

    private static func freeze<Element>(
        _ entries: [(UInt32, Element)], idLimit: Int
    ) -> (UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Element>) {
        let starts = UnsafeMutablePointer<Int32>.allocate(capacity: idLimit + 1)
        let flat = UnsafeMutablePointer<Element>.allocate(capacity: max(entries.count, 1))
        var byID = Array(repeating: [Element](), count: idLimit)
        for (id, element) in entries { byID[Int(id)].append(element) }
        var cursor = 0
        for id in 0..<idLimit {
            starts[id] = Int32(cursor)
            for element in byID[id] {
                (flat + cursor).initialize(to: element)
                cursor += 1
            }
        }
        starts[idLimit] = Int32(cursor)
        return (starts, flat)
    }

    /// How many plugins subscribed to `id`.
    public func subscriberCount(of id: EventID) -> Int {
        let index = Int(id.rawValue)
        guard index < idLimit else { return 0 }
        return Int(starts[index + 1] - starts[index])
    }

    /// How many check callbacks subscribed to `id`.
    public func checkCount(of id: EventID) -> Int {
        let index = Int(id.rawValue)
        guard index < idLimit else { return 0 }
        return Int(checkStarts[index + 1] - checkStarts[index])
    }

    /// Calls every subscriber of `id`, in order, on this thread.
    /// - Parameters:
    ///   - source: The publisher's alias as an interned C string.
    ///   - payload: Bytes valid for the duration of the call.
    @inline(__always)
    func publish(_ id: UInt32, source: UnsafePointer<CChar>, payload: UnsafeRawBufferPointer) {
        let index = Int(id)
        guard index < idLimit else { return }
        let first = Int(starts[index])
        let end = Int(starts[index + 1])
        guard first < end else { return }
        var event = ph_event_t(
            struct_size: UInt32(MemoryLayout<ph_event_t>.size), id: id, name: names[index], source: source,
            payload: payload.baseAddress, payload_length: payload.count)
        withUnsafePointer(to: &event) { event in
            for position in first..<end {
                let subscriber = subscribers[position]
                if let lock = subscriber.lock {
                    pthread_mutex_lock(lock)
                    subscriber.callback(subscriber.userData, event)
                    pthread_mutex_unlock(lock)
                } else {
                    subscriber.callback(subscriber.userData, event)
                }
            }
        }
    }

    /// Runs the check subscribers of `id` in order; the first deny stops the rest.
    /// - Returns: The verdict and, for a deny, the alias that denied (its reason is in `reason`).
    func check(
        _ id: UInt32, source: UnsafePointer<CChar>, payload: UnsafeRawBufferPointer,
        reason: UnsafeMutablePointer<ph_message_t>
    ) -> (verdict: ph_verdict_t, deniedBy: UnsafePointer<CChar>?) {
        let index = Int(id)
        guard index < idLimit else { return (PH_ABSTAIN, nil) }
        var event = ph_event_t(
            struct_size: UInt32(MemoryLayout<ph_event_t>.size), id: id, name: names[index], source: source,
            payload: payload.baseAddress, payload_length: payload.count)
        var verdict = PH_ABSTAIN
        for position in Int(checkStarts[index])..<Int(checkStarts[index + 1]) {
            let subscriber = checks[position]
            if let lock = subscriber.lock { pthread_mutex_lock(lock) }
            let answer = subscriber.callback(subscriber.userData, &event, reason)
            if let lock = subscriber.lock { pthread_mutex_unlock(lock) }
            if answer == PH_DENY { return (PH_DENY, subscriber.owner) }
            if answer == PH_ALLOW { verdict = PH_ALLOW }
        }
        return (verdict, nil)
    }
}
