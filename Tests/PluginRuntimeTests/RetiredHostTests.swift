import CPluginABI
import Logging
@testable import PluginRuntime
import Testing

@Suite("A retired plugin's ph_host_t stays valid and answers PH_ERR_STATE")
struct RetiredHostTests {
    /// A context as a plugin instance has one, with its table; the context itself is released when this returns.
    private static func retiredTable() -> UnsafePointer<ph_host_t> {
        let context = PluginContext(
            alias: "gone", libraryPath: "gone.so", configuration: PluginConfiguration(["key": .string("value")]), threadSafe: true,
            registrations: PluginRegistrations(extensions: ExtensionSet([]), claimedServices: [:]), cache: PluginCache(limit: 8),
            logger: Logger(label: "retired-host-test"))
        let host = UnsafePointer(context.host)
        // While the instance lives, the table reaches it.
        #expect(host.pointee.cache_set(host, "k", 1, "v", 1, 0) == PH_OK)
        context.retireHost()
        return host
    }

    @Test("after the instance is destroyed and its context freed, every call through its table answers without touching it")
    func callsAfterRetirement() {
        let host = Self.retiredTable()
        // The context is freed now (AddressSanitizer would report a use after free below).
        let id = host.pointee.event_id(host, "retired.tick")
        #expect(id != ph_event_id_t(PH_EVENT_NONE))
        #expect(host.pointee.publish(host, id, "x", 1) == PH_ERR_STATE)
        #expect(host.pointee.cache_set(host, "k", 1, "v", 1, 0) == PH_ERR_STATE)
        var length = 0
        #expect(host.pointee.cache_get(host, "k", 1, nil, 0, &length) == PH_ERR_STATE)
        #expect(host.pointee.cache_invalidate(host, nil, 0) == PH_ERR_STATE)
        #expect(host.pointee.get_service(host, "any.service/1") == nil)
        #expect(host.pointee.get_extension(host, "plughost.http/1") == nil)
        #expect(host.pointee.provide_service(host, "mine/1", UnsafeRawPointer(bitPattern: 8)) == PH_ERR_STATE)
        #expect(host.pointee.check(host, id, nil, 0, nil) == PH_ABSTAIN)
        host.pointee.log(host, PH_LOG_INFO, "from a thread that outlived destroy")
        // The alias string and a (now empty) config stay readable.
        #expect(String(cString: host.pointee.alias) == "gone")
        #expect(host.pointee.config.pointee.key_count == 0)
    }
}
