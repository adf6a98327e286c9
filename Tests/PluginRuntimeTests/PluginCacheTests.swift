import Glibc
import CPluginABI
@testable import PluginRuntime
import Testing

@Suite("The per-plugin cache")
struct PluginCacheTests {
    @Test("stores, replaces and invalidates by prefix")
    func setGetInvalidate() {
        let cache = PluginCache(limit: 10)
        cache.set(Array("user:1".utf8), [1], ttl: nil)
        cache.set(Array("user:2".utf8), [2], ttl: nil)
        cache.set(Array("post:1".utf8), [3], ttl: nil)
        cache.set(Array("user:1".utf8), [9], ttl: nil)
        #expect(cache.get(Array("user:1".utf8)) == [9])
        cache.invalidate(prefix: Array("user:".utf8))
        #expect(cache.get(Array("user:1".utf8)) == nil && cache.get(Array("user:2".utf8)) == nil)
        #expect(cache.get(Array("post:1".utf8)) == [3])
        cache.invalidate(prefix: [])
        #expect(cache.count == 0)
    }

    @Test("evicts the oldest entries past its limit")
    func eviction() {
        let cache = PluginCache(limit: 3)
        for key in UInt8(0)..<5 { cache.set([key], [key], ttl: nil) }
        #expect(cache.count == 3)
        #expect(cache.get([0]) == nil && cache.get([1]) == nil && cache.get([4]) == [4])
    }

    @Test("an expired entry is gone")
    func expiry() async throws {
        let cache = PluginCache(limit: 3)
        cache.set([1], [1], ttl: .milliseconds(1))
        cache.set([2], [2], ttl: .seconds(3600))
        try await Task.sleep(for: .milliseconds(20))
        #expect(cache.get([1]) == nil)
        #expect(cache.get([2]) == [2])
    }
}

@Suite("The shared host cache store")
struct SharedCacheStoreTests {
    private func store() throws -> SharedCacheStore {
        try #require(SharedCacheStore.make(bytes: 2 << 20, shareable: true))
    }

    @Test("one namespace per build: instances of the same build share it, a new build starts empty, an alias keeps four builds")
    func namespacesPerBuild() throws {
        let store = try store()
        let first = PluginCache(store: store, alias: "p", fingerprint: "build-a", limit: 10, byteLimit: 1 << 20)
        let sameBuild = PluginCache(store: store, alias: "p", fingerprint: "build-a", limit: 10, byteLimit: 1 << 20)
        first.set([1], [42], ttl: nil)
        #expect(sameBuild.get([1]) == [42], "another worker's instance of the same build reads it")
        let newBuild = PluginCache(store: store, alias: "p", fingerprint: "build-b", limit: 10, byteLimit: 1 << 20)
        #expect(newBuild.get([1]) == nil)
        newBuild.set([1], [7], ttl: nil)
        #expect(first.get([1]) == [42] && newBuild.get([1]) == [7], "namespaces do not mix")
        // A fifth build of the alias: the oldest build's namespace is dropped (its handle reopens an empty one).
        for build in ["c", "d", "e"] { _ = PluginCache(store: store, alias: "p", fingerprint: "build-\(build)", limit: 10, byteLimit: 1 << 20) }
        #expect(first.get([1]) == nil)
        let other = PluginCache(store: store, alias: "q", fingerprint: "build-a", limit: 10, byteLimit: 1 << 20)
        #expect(other.get([1]) == nil, "another alias with the same fingerprint has its own namespace")
    }

    @Test("the byte limit evicts the oldest entries; an entry larger than the limit is refused")
    func byteLimit() throws {
        let cache = PluginCache(store: try store(), alias: "p", fingerprint: "f", limit: 100, byteLimit: 100)
        for key in UInt8(0)..<5 { cache.set([key], [UInt8](repeating: key, count: 30), ttl: nil) }
        #expect(cache.count == 3, "3 × 31 bytes fit in 100")
        #expect(cache.get([0]) == nil && cache.get([4])?.count == 30)
        cache.set([9], [UInt8](repeating: 9, count: 200), ttl: nil)
        #expect(cache.get([9]) == nil)
    }

    @Test("damage is found and dropped, never followed: the store is cleared and counted")
    func damage() throws {
        let store = try store()
        let cache = PluginCache(store: store, alias: "p", fingerprint: "f", limit: 10, byteLimit: 1 << 20)
        cache.set([1], [1], ttl: nil)
        cache.set([2], [2], ttl: nil)
        store.damageForTesting()
        #expect(cache.get([1]) == nil)
        #expect(store.resets == 1)
        cache.set([3], [3], ttl: nil)
        #expect(cache.get([3]) == [3], "the store works after it was cleared")
    }

    @Test("a process that dies holding the store's lock does not wedge it: the next taker clears it and goes on")
    func deadOwner() throws {
        let store = try store()
        let cache = PluginCache(store: store, alias: "p", fingerprint: "f", limit: 10, byteLimit: 1 << 20)
        cache.set([1], [1], ttl: nil)
        store.dieHoldingLockForTesting()
        #expect(cache.get([1]) == nil)
        #expect(store.resets == 1)
        cache.set([2], [2], ttl: nil)
        #expect(cache.get([2]) == [2])
    }

    @Test("a store made for workers is mapped again from its descriptor and shares every entry")
    func attach() throws {
        let store = try store()
        let again = try #require(SharedCacheStore.attach(descriptor: store.descriptor))
        PluginCache(store: store, alias: "p", fingerprint: "f", limit: 10, byteLimit: 1 << 20).set([5], [55], ttl: nil)
        #expect(PluginCache(store: again, alias: "p", fingerprint: "f", limit: 10, byteLimit: 1 << 20).get([5]) == [55])
        #expect(SharedCacheStore.attach(descriptor: open("/dev/null", O_RDONLY)) == nil, "not a store")
    }
}

@Suite("The shared host cache store when full, damaged or asked for ever")
struct SharedCacheLimitTests {
    @Test("a full store evicts the oldest entry of the same block size, in any namespace; with none of that size the set fails and evicts nothing")
    func fullStore() throws {
        let store = try #require(SharedCacheStore.make(bytes: 1 << 20, shareable: false))
        let large = PluginCache(store: store, alias: "large", fingerprint: "f", limit: 1000, byteLimit: 0)
        let small = PluginCache(store: store, alias: "small", fingerprint: "f", limit: 100_000, byteLimit: 0)
        let big = [UInt8](repeating: 7, count: 40_000)
        for key in UInt8(0)..<20 { large.set([key], big, ttl: nil) }
        #expect(large.count < 20 && large.get([0]) == nil && large.get([19]) == big, "the oldest large entries made room: \(large.count) kept")
        // Small entries fill what is left, then make room among themselves.
        for key in 0..<3000 { small.set(Array("k\(key)".utf8), [UInt8](repeating: 1, count: 100), ttl: nil) }
        #expect(small.get(Array("k2999".utf8)) != nil && small.get(Array("k0".utf8)) == nil)
        let (largeKept, smallKept) = (large.count, small.count)
        // A size nothing in the store has: no block frees for it, so nothing is evicted for nothing.
        let status = [UInt8](repeating: 0, count: 10_000).withUnsafeBytes { value in
            Array("middle".utf8).withUnsafeBytes { key in small.set(key: key, value: value, ttlMilliseconds: 0) }
        }
        #expect(status == PH_ERR_TOO_SMALL)
        #expect(large.count == largeKept && small.count == smallKept, "nothing evicted")
    }

    @Test("a store whose layout a stray write changed is cleared at the next call, never followed")
    func scribbledLayout() throws {
        let store = try #require(SharedCacheStore.make(bytes: 1 << 20, shareable: false))
        let cache = PluginCache(store: store, alias: "p", fingerprint: "f", limit: 10, byteLimit: 1 << 20)
        cache.set([1], [1], ttl: nil)
        store.damageLayoutForTesting()
        #expect(cache.get([1]) == nil)
        #expect(store.resets == 1)
        cache.set([2], [2], ttl: nil)
        #expect(cache.get([2]) == [2], "the store works after it was cleared")
    }

    @Test("a TTL too long to count in nanoseconds never expires (no wrap to a short one)")
    func hugeTTL() throws {
        let store = try #require(SharedCacheStore.make(bytes: 1 << 20, shareable: false))
        let cache = PluginCache(store: store, alias: "p", fingerprint: "f", limit: 10, byteLimit: 1 << 20)
        for ttl in [UInt64.max, UInt64.max / 1_000_000, 18_446_744_073_709] {
            let key: [UInt8] = Array("\(ttl)".utf8)
            let status = [UInt8(1)].withUnsafeBytes { value in key.withUnsafeBytes { cache.set(key: $0, value: value, ttlMilliseconds: ttl) } }
            #expect(status == PH_OK)
            #expect(cache.get(key) == [1], "ttl \(ttl) ms")
        }
    }
}

@Suite("The shared host cache store, replacing values")
struct SharedCacheReplaceTests {
    @Test("setting a key again replaces its value in place and makes it the newest: eviction takes the others first")
    func replaceMovesToNewest() throws {
        let store = try #require(SharedCacheStore.make(bytes: 2 << 20, shareable: false))
        let cache = PluginCache(store: store, alias: "p", fingerprint: "f", limit: 3, byteLimit: 1 << 20)
        cache.set([1], [1], ttl: nil)
        cache.set([2], [2], ttl: nil)
        cache.set([3], [3], ttl: nil)
        cache.set([1], [9], ttl: nil)
        cache.set([4], [4], ttl: nil)
        #expect(cache.get([1]) == [9] && cache.get([2]) == nil && cache.get([3]) == [3] && cache.get([4]) == [4])
        #expect(cache.count == 3)
    }
}
