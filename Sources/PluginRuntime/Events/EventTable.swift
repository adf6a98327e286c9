#if canImport(Glibc)
import Glibc
#endif
import CPluginABI
import CEventCounters
import CCallRecord

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
        /// Its build in the in-flight record of calls (see ``CallRecord``).
        var record: UInt32 = 0
    }

    /// What dispatch calls: 24 bytes, no branch. A subscriber that needs its
    /// plugin's lock is reached through ``lockingTrampoline`` and a ``LockedCallback``.
    private struct Callable {
        let callback: ph_event_fn
        let userData: UnsafeMutableRawPointer?
        /// The in-flight record word of a call into it (`PH_CALL_WHAT(PH_CALL_EVENT, build)`).
        let what: UInt32
    }

    /// A non-thread-safe plugin's callback with the lock to hold around it.
    private struct LockedCallback {
        let callback: ph_event_fn
        let userData: UnsafeMutableRawPointer?
        let lock: UnsafeMutablePointer<pthread_mutex_t>
    }

    private static let lockingTrampoline: ph_event_fn = { userData, event in
        let locked = userData!.assumingMemoryBound(to: LockedCallback.self).pointee
        pthread_mutex_lock(locked.lock)
        locked.callback(locked.userData, event)
        pthread_mutex_unlock(locked.lock)
    }

    /// One check subscriber, with the alias to name when it denies.
    struct CheckSubscriber {
        let callback: ph_check_fn
        let userData: UnsafeMutableRawPointer?
        let lock: UnsafeMutablePointer<pthread_mutex_t>?
        let owner: UnsafePointer<CChar>
        /// Its build in the in-flight record of calls (see ``CallRecord``).
        var record: UInt32 = 0
        /// Where its verdicts are counted (see ``CheckSlots``); set when the table is frozen.
        var slot = UInt32.max
    }

    /// One past the highest event id this table knows.
    let idLimit: Int
    private let starts: UnsafeMutablePointer<Int32>
    private let subscribers: UnsafeMutablePointer<Callable>
    private let lockedCallbacks: UnsafeMutablePointer<LockedCallback>
    private let lockedCount: Int
    private let checkStarts: UnsafeMutablePointer<Int32>
    private let checks: UnsafeMutablePointer<CheckSubscriber>
    private let names: UnsafeMutablePointer<UnsafePointer<CChar>?>

    /// Freezes `events` and `checks` (each already in dispatch order) into flat arrays.
    init(events: [(UInt32, Subscriber)], checks: [(UInt32, CheckSubscriber)]) {
        let limit = max(EventNames.shared.idLimit, Int((events.map(\.0) + checks.map(\.0)).max() ?? 0) + 1)
        idLimit = limit
        let locked = events.compactMap { entry in
            entry.1.lock.map { LockedCallback(callback: entry.1.callback, userData: entry.1.userData, lock: $0) }
        }
        lockedCount = locked.count
        let lockedStorage = UnsafeMutablePointer<LockedCallback>.allocate(capacity: max(locked.count, 1))
        lockedStorage.initialize(from: locked, count: locked.count)
        lockedCallbacks = lockedStorage
        var nextLocked = 0
        let callables = events.map { entry -> (UInt32, Callable) in
            let what = ph_call_what(PH_CALL_EVENT, entry.1.record)
            guard entry.1.lock != nil else { return (entry.0, Callable(callback: entry.1.callback, userData: entry.1.userData, what: what)) }
            defer { nextLocked += 1 }
            return (entry.0, Callable(callback: EventTable.lockingTrampoline, userData: UnsafeMutableRawPointer(lockedStorage + nextLocked),
                                      what: what))
        }
        (starts, subscribers) = Self.freeze(callables, idLimit: limit)
        let counted = checks.map { entry -> (UInt32, CheckSubscriber) in
            var check = entry.1
            check.slot = CheckSlots.shared.slot(event: entry.0, alias: String(cString: check.owner))
            return (entry.0, check)
        }
        (checkStarts, self.checks) = Self.freeze(counted, idLimit: limit)
        names = .allocate(capacity: limit)
        for id in 0..<limit { names[id] = EventNames.shared.cName(of: EventID(rawValue: UInt32(id))) }
    }

    deinit {
        starts.deallocate()
        subscribers.deallocate()
        lockedCallbacks.deinitialize(count: lockedCount)
        lockedCallbacks.deallocate()
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

    /// Calls every subscriber of `id`, in order, on this thread. Counted (published, and
    /// delivered to this many subscribers) in thread-local memory, see `event_counters.h`.
    /// - Parameters:
    ///   - source: The publisher's alias as an interned C string.
    ///   - payload: Bytes valid for the duration of the call.
    @inline(__always)
    func publish(_ id: UInt32, source: UnsafePointer<CChar>, payload: UnsafeRawBufferPointer) {
        let index = Int(id)
        guard index < idLimit else { return }
        let first = Int(starts[index])
        let end = Int(starts[index + 1])
        ph_count_event(id, UInt32(truncatingIfNeeded: end - first))
        guard first < end else { return }
        var event = ph_event_t(
            struct_size: UInt32(MemoryLayout<ph_event_t>.size), id: id, name: names[index], source: source,
            payload: payload.baseAddress, payload_length: payload.count)
        // Each call is recorded as in flight on this thread (two plain stores), see CallRecord.
        // A subscriber may publish in turn: the outer record (call and event id) comes back after.
        let record = ph_call_slot()!
        let previous = (what: record.pointee.what, detail: record.pointee.detail)
        record.pointee.detail = id
        withUnsafePointer(to: &event) { event in
            for position in first..<end {
                let subscriber = subscribers[position]
                record.pointee.what = subscriber.what
                subscriber.callback(subscriber.userData, event)
            }
        }
        record.pointee.what = previous.what
        record.pointee.detail = previous.detail
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
        let record = ph_call_slot()!
        let previous = (what: record.pointee.what, detail: record.pointee.detail)
        record.pointee.detail = id
        defer {
            record.pointee.what = previous.what
            record.pointee.detail = previous.detail
        }
        for position in Int(checkStarts[index])..<Int(checkStarts[index + 1]) {
            let subscriber = checks[position]
            record.pointee.what = ph_call_what(PH_CALL_CHECK, subscriber.record)
            if let lock = subscriber.lock { pthread_mutex_lock(lock) }
            let answer = subscriber.callback(subscriber.userData, &event, reason)
            if let lock = subscriber.lock { pthread_mutex_unlock(lock) }
            if answer == PH_DENY {
                ph_count_verdict(subscriber.slot, 1)
                return (PH_DENY, subscriber.owner)
            }
            if answer == PH_ALLOW {
                verdict = PH_ALLOW
                ph_count_verdict(subscriber.slot, 0)
            } else {
                ph_count_verdict(subscriber.slot, 2)
            }
            // The buffer is shared: what an allowing or abstaining subscriber wrote is neither
            // the next one's nor a reason the caller gets (only a deny's reason is).
            if reason.pointee.capacity > 0, let data = reason.pointee.data { data[0] = 0 }
        }
        return (verdict, nil)
    }
}
