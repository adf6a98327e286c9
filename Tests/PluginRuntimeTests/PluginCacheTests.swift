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
