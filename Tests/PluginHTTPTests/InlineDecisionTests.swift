import PluginHTTPExtension
import PluginRuntime
import PluginTestSupport
import Testing

@Suite("Which plugin work may run on a thread that serves connections")
struct InlineDecisionTests {
    @Test("a route of never-blocking plugins runs inline only while no plugin that may block listens to the request events it fires")
    func requestEventListenersDecide() throws {
        let folder = PluginFolder()
        folder.copyFixture("deferred/a/libdeferred.so", as: "libdeferred.so")
        folder.manifest("deferred.toml", [("deferred", "libdeferred.so:deferred_entry")])
        let alone = try folder.start(HostConfig(enabled: ["deferred"]))
        defer { alone.shutdown() }
        let generation = try #require(alone.generation)
        let request = PluginHTTPRequest(method: "GET", path: "/d/sync")
        #expect(generation.runsInline(generation.endpoints.resolve(request)))
        #expect(!generation.subscribersMayBlock(.requestReceived) && !generation.subscribersMayBlock(.clientConnected))

        // The recorder (no PH_PLUGIN_NEVER_BLOCKS) listens to request-received, response-sent and the connection events.
        folder.addRecorder("recorder")
        var config = folder.config(["recorder"])
        config.enabled = ["deferred", "recorder"]
        let listened = try folder.start(config)
        defer { listened.shutdown() }
        let busy = try #require(listened.generation)
        #expect(!busy.runsInline(busy.endpoints.resolve(request)), "a blocking listener would run on the serving thread")
        #expect(busy.subscribersMayBlock(.requestReceived) && busy.subscribersMayBlock(.clientConnected))
        #expect(busy.endpoints.resolve(request).runsInline, "the route itself still never blocks")
    }
}
