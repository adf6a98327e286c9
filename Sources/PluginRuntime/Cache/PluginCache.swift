import Synchronization

/// One plugin's small key/value cache: bytes in, bytes out, with a time to
/// live, an entry limit (oldest evicted first) and prefix invalidation.
///
/// Each plugin instance has its own namespace; the host clears it when the
/// plugin is unloaded.
final class PluginCache: Sendable {
    private struct Entry {
        var value: [UInt8]
        var expiry: ContinuousClock.Instant?
        var sequence: UInt64
    }

    private struct State: ~Copyable {
        var entries: [[UInt8]: Entry] = [:]
        /// Keys in insertion order; stale ones (replaced or removed) are skipped on eviction.
        var order: [(key: [UInt8], sequence: UInt64)] = []
        var orderHead = 0
        var nextSequence: UInt64 = 0
    }

    /// The most entries this cache keeps.
    let limit: Int
    private let state = Mutex(State())

    init(limit: Int) { self.limit = limit }

    /// Stores `value` under `key`; `ttl` of nil never expires.
    func set(_ key: [UInt8], _ value: [UInt8], ttl: Duration?) {
        guard limit > 0 else { return }
        let expiry = ttl.map { ContinuousClock.now + $0 }
        state.withLock { state in
            state.nextSequence += 1
            state.entries[key] = Entry(value: value, expiry: expiry, sequence: state.nextSequence)
            state.order.append((key, state.nextSequence))
            while state.entries.count > limit, state.orderHead < state.order.count {
                let oldest = state.order[state.orderHead]
                state.orderHead += 1
                if state.entries[oldest.key]?.sequence == oldest.sequence { state.entries[oldest.key] = nil }
            }
            if state.orderHead > 64 && state.orderHead * 2 > state.order.count {
                state.order.removeFirst(state.orderHead)
                state.orderHead = 0
            }
        }
    }

    /// The value under `key`, or nil when absent or expired.
    func get(_ key: [UInt8]) -> [UInt8]? {
        state.withLock { state in
            guard let entry = state.entries[key] else { return nil }
            if let expiry = entry.expiry, expiry <= ContinuousClock.now {
                state.entries[key] = nil
                return nil
            }
            return entry.value
        }
    }

    /// Removes every entry whose key starts with `prefix` (empty: everything).
    func invalidate(prefix: [UInt8]) {
        state.withLock { state in
            if prefix.isEmpty {
                state.entries.removeAll()
                state.order.removeAll()
                state.orderHead = 0
            } else {
                for key in state.entries.keys where key.starts(with: prefix) { state.entries[key] = nil }
            }
        }
    }

    /// Number of live (possibly expired, not yet collected) entries.
    var count: Int { state.withLock { $0.entries.count } }
}
