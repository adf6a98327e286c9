import Foundation
import Logging
import PluginHTTPExtension
import PluginRuntime
import PluginTestSupport
import Testing

@Suite("The example plugins' asynchronous endpoints")
struct ExampleAsyncTests {
    @Test("later (C, a timer thread) and greeter's /hello/later (Swift, an async endpoint) answer after their wait")
    func examplesAnswerLater() throws {
        let config = try HostConfig.load(path: Fixtures.repositoryRoot + "/plughost.toml")
        let runtime = PluginRuntime(pluginsDirectory: Fixtures.examples, config: config, servesHTTP: true,
                                    logger: Logger(label: "quiet", factory: { _ in SwiftLogNoOpLogHandler() }))
        try runtime.start()
        defer { runtime.shutdown() }
        let later = try #require(runtime.withCurrentGeneration { $0.handle(PluginHTTPRequest(method: "GET", path: "/later", query: "ms=30")) })
        #expect(later.status == 200 && String(decoding: later.body, as: UTF8.self) == "waited 30 ms")
        let refused = try #require(runtime.withCurrentGeneration { $0.handle(PluginHTTPRequest(method: "GET", path: "/later", query: "ms=-1")) })
        #expect(refused.status == 500 && String(decoding: refused.body, as: UTF8.self).contains("ms must be 0 to 10000"))
        let greeting = try #require(runtime.withCurrentGeneration {
            $0.handle(PluginHTTPRequest(method: "GET", path: "/hello/later", query: "name=ada&ms=20"))
        })
        #expect(greeting.status == 200 && String(decoding: greeting.body, as: UTF8.self) == "Hello, ada, after 20 ms!\n")
    }
}
