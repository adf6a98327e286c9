#if canImport(Glibc)
import Glibc
#endif
package import CPluginABI
import CCallRecord
import CSharedCache
import Synchronization

/// One plugin's namespace in the host cache (``SharedCacheStore``): bytes in,
/// bytes out, with a time to live, limits on entries and bytes (oldest
/// evicted first) and prefix invalidation.
///
/// A namespace is one plugin build as configured (alias, library SHA-256 and
/// its config table): every worker's instance of that build shares it, a new
/// build or config starts empty, and the replaced build's entries are never
/// seen again (an alias keeps at most four builds' namespaces; the oldest goes
/// when a fifth comes).
package final class PluginCache: Sendable {
    /// The store; nil when this process could not map one (every call then fails cleanly).
    private let store: SharedCacheStore?
    private let alias: String
    private let fingerprint: String
    /// The most entries and bytes (keys and values) this namespace keeps.
    let limit: Int
    let byteLimit: Int
    /// The namespace's handle, opened again when the store dropped it; 0 while none is open.
    private let handle: Atomic<UInt64>
    /// When opening last failed (CLOCK_MONOTONIC ns): a store whose namespace table is full is
    /// asked again at most once a second, not on every call under its lock.
    private let failedAt: Atomic<UInt64>

    /// The namespace of `alias` built as `fingerprint` in `store`.
    package init(store: SharedCacheStore? = .current, alias: String, fingerprint: String, limit: Int, byteLimit: Int) {
        self.store = store
        self.alias = String(alias.utf8.prefix(63)) ?? "plugin"
        self.fingerprint = String(fingerprint.utf8.prefix(95)) ?? "-"
        self.limit = max(0, limit)
        self.byteLimit = max(0, byteLimit)
        handle = Atomic(0)
        failedAt = Atomic(0)
        _ = open()
    }

    /// A namespace of its own (no other cache shares it), for a plugin nothing is known of.
    convenience init(limit: Int, byteLimit: Int = HostConfig().cacheBytesPerPlugin) {
        self.init(alias: "private-\(PluginCache.serial.add(1, ordering: .relaxed).newValue)-\(getpid())", fingerprint: "-",
                  limit: limit, byteLimit: byteLimit)
    }

    private static let serial = Atomic<Int>(0)

    /// Opens the namespace; 0 when the store has none to give (no store, or its table is full).
    private func open() -> UInt64 {
        guard let store else { return 0 }
        let now = ph_call_clock_ns()
        let failed = failedAt.load(ordering: .relaxed)
        if failed != 0 && now &- failed < 1_000_000_000 { return 0 }
        var opened: UInt64 = 0
        guard ph_shared_cache_namespace(store.store, alias, fingerprint, UInt32(clamping: limit), UInt64(byteLimit), &opened)
                == PH_SHARED_CACHE_OK else {
            failedAt.store(now, ordering: .relaxed)
            return 0
        }
        handle.store(opened, ordering: .relaxed)
        return opened
    }

    /// Runs `body` with the store and handle, opening the namespace again once when the store no
    /// longer knows it; `PH_SHARED_CACHE_INVALID` when there is no store or namespace.
    @inline(__always)
    private func withHandle(_ body: (OpaquePointer, UInt64) -> Int32) -> Int32 {
        guard let store else { return PH_SHARED_CACHE_INVALID }
        var current = handle.load(ordering: .relaxed)
        if current == 0 { current = open() }
        guard current != 0 else { return PH_SHARED_CACHE_INVALID }
        let result = body(store.store, current)
        guard result == PH_SHARED_CACHE_INVALID else { return result }
        let reopened = open()
        return reopened == 0 ? result : body(store.store, reopened)
    }

    /// Stores `value` under `key`; `ttl` 0 never expires. `PH_ERR_TOO_SMALL` when it cannot fit the
    /// limits or the store, `PH_ERR_FAILED` when the store is unavailable or was found damaged.
    package func set(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, ttlMilliseconds: UInt64) -> ph_status_t {
        // Saturated: a TTL too long to count in nanoseconds never expires rather than wrapping to a short one.
        let (nanoseconds, overflow) = ttlMilliseconds.multipliedReportingOverflow(by: 1_000_000)
        let ttl = overflow ? UInt64.max : nanoseconds
        let resets = store?.resets ?? 0
        let result = withHandle { ph_shared_cache_set($0, $1, key.baseAddress, key.count, value.baseAddress, value.count, ttl) }
        switch result {
        case PH_SHARED_CACHE_OK: return PH_OK
        case PH_SHARED_CACHE_FULL: return store?.resets == resets ? PH_ERR_TOO_SMALL : PH_ERR_FAILED
        default: return PH_ERR_FAILED
        }
    }

    /// Copies the value under `key` into `buffer` when it fits (its length always goes to `length`).
    package func get(key: UnsafeRawBufferPointer, into buffer: UnsafeMutableRawPointer?, capacity: Int,
                     length: UnsafeMutablePointer<Int>?) -> ph_status_t {
        var found = 0
        let result = withHandle { ph_shared_cache_get($0, $1, key.baseAddress, key.count, buffer, capacity, &found) }
        switch result {
        case PH_SHARED_CACHE_OK:
            length?.pointee = found
            return PH_OK
        case PH_SHARED_CACHE_TOO_SMALL:
            length?.pointee = found
            return PH_ERR_TOO_SMALL
        default:
            return PH_ERR_NOT_FOUND
        }
    }

    /// Stores `value` under `key`; `ttl` of nil never expires.
    func set(_ key: [UInt8], _ value: [UInt8], ttl: Duration?) {
        let milliseconds = ttl.map { UInt64(max(1, $0.wholeMilliseconds)) } ?? 0
        key.withUnsafeBytes { key in value.withUnsafeBytes { value in _ = set(key: key, value: value, ttlMilliseconds: milliseconds) } }
    }

    /// The value under `key`, or nil when absent or expired.
    func get(_ key: [UInt8]) -> [UInt8]? {
        key.withUnsafeBytes { key -> [UInt8]? in
            var length = 0
            guard get(key: key, into: nil, capacity: 0, length: &length) != PH_ERR_NOT_FOUND else { return nil }
            var value = [UInt8](repeating: 0, count: length)
            let status = value.withUnsafeMutableBytes { get(key: key, into: $0.baseAddress, capacity: $0.count, length: &length) }
            return status == PH_OK ? Array(value.prefix(length)) : nil
        }
    }

    /// Removes every entry whose key starts with `prefix` (empty: everything).
    package func invalidate(prefix: UnsafeRawBufferPointer) {
        _ = withHandle { ph_shared_cache_invalidate($0, $1, prefix.baseAddress, prefix.count) }
    }

    /// Removes every entry whose key starts with `prefix` (empty: everything).
    func invalidate(prefix: [UInt8]) {
        prefix.withUnsafeBytes { invalidate(prefix: $0) }
    }

    /// Live entries (expired ones not collected yet included); 0 with no namespace open.
    var count: Int {
        let current = handle.load(ordering: .relaxed)
        guard let store, current != 0 else { return 0 }
        return Int(ph_shared_cache_entries(store.store, current))
    }
}
