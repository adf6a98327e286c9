#if canImport(Glibc)
import Glibc
#endif
package import CSharedCache
import Synchronization

/// The store behind every plugin's cache (`shared_cache.h`): one table in a
/// shared memory mapping, which `plughost serve` makes in its supervisor and
/// every worker maps, so a value set through any worker is read through every
/// other, an invalidation reaches all of them at once, and entries outlive the
/// worker that set them. A process with no supervisor (`--workers 0`, a program
/// embedding ``PluginRuntime``) has a store of its own, in an anonymous mapping.
public final class SharedCacheStore: @unchecked Sendable {
    // @unchecked Sendable: the mapping is only used through its own process-shared lock.

    /// The mapping.
    package let store: OpaquePointer
    /// The descriptor of its in-memory file (for workers to inherit), or -1.
    public let descriptor: Int32
    /// Whether the descriptor was made here (and is closed with the store).
    private let ownsDescriptor: Bool

    private init(store: OpaquePointer, descriptor: Int32, ownsDescriptor: Bool) {
        self.store = store
        self.descriptor = descriptor
        self.ownsDescriptor = ownsDescriptor
    }

    /// Every plugin cache holds its store: this runs once none uses it any more.
    deinit {
        ph_shared_cache_close(store)
        if ownsDescriptor && descriptor >= 0 { close(descriptor) }
    }

    /// A new store of `bytes`; in an in-memory file when `shareable` (a supervisor's), else anonymous.
    /// Nil when it cannot be made (`errno` says why).
    public static func make(bytes: Int, shareable: Bool) -> SharedCacheStore? {
        var descriptor: Int32 = -1
        let made = shareable ? ph_shared_cache_create(bytes, &descriptor) : ph_shared_cache_create(bytes, nil)
        guard let store = made else { return nil }
        return SharedCacheStore(store: store, descriptor: descriptor, ownsDescriptor: true)
    }

    /// The store a supervisor made, inherited at `descriptor`; nil when it is not one.
    public static func attach(descriptor: Int32) -> SharedCacheStore? {
        guard let store = ph_shared_cache_attach(descriptor) else { return nil }
        return SharedCacheStore(store: store, descriptor: descriptor, ownsDescriptor: false)
    }

    private static let installed = Mutex<SharedCacheStore?>(nil)

    /// Makes `store` the one every plugin cache of this process uses from now on.
    public static func install(_ store: SharedCacheStore) {
        installed.withLock { $0 = store }
    }

    /// The store of this process: the one installed, else one of its own made now (64 MiB,
    /// anonymous); nil when none can be mapped (plugin caches then fail their calls, nothing crashes).
    public static var current: SharedCacheStore? {
        installed.withLock { installed in
            if let store = installed { return store }
            installed = make(bytes: HostConfig().cacheBytes, shareable: false)
            return installed
        }
    }

    /// Entries in the whole store.
    public var entries: Int { Int(ph_shared_cache_entries(store, 0)) }

    /// How often the store was cleared because a process died holding its lock or damage was found.
    public var resets: Int { Int(ph_shared_cache_resets(store)) }

    /// Has a child process die holding the store's lock (tests: the next taker must not wedge).
    package func dieHoldingLockForTesting() {
        _ = ph_shared_cache_die_holding_lock_for_testing(store)
    }

    /// Writes over the first entry's checksum (tests: damage must be found, never followed).
    package func damageForTesting() {
        ph_shared_cache_damage_for_testing(store)
    }

    /// Writes over the store's layout, as a stray plugin would (tests: the next call must clear the store).
    package func damageLayoutForTesting() {
        ph_shared_cache_damage_layout_for_testing(store)
    }
}
