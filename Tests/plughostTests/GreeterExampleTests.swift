import Foundation
import PluginTestSupport
import Testing

/// The Swift example plugin over HTTP: its typed endpoints (parameters parsed by
/// the host, a Swift result answered as JSON) and its wrapper with accepts and
/// prepare (it wraps only greeter's own endpoints, with a value prepared per endpoint).
@Suite(.serialized)
struct GreeterExampleTests {
    @Test("greeter's typed endpoints and its accepts/prepare wrapper, called over HTTP")
    func typedEndpointsAndWrapper() throws {
        let folder = PluginFolder()
        let serve = try ServeProcess(folder: folder, extraArguments: ["--plugins", Fixtures.examples,
                                                                      "--config", Fixtures.repositoryRoot + "/plughost.toml", "--workers", "0"])
        OperationsTests.waitUntilReady(serve)
        func headers(_ path: String) throws -> String {
            try RawHTTP.send("GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", port: serve.port)
        }
        // Typed: two path parameters (string, int32), a String? result as JSON.
        let greeted = try headers("/greet/ada/2")
        #expect(greeted.hasPrefix("HTTP/1.1 200"))
        #expect(greeted.hasSuffix(#""Hello, ada! Hello, ada!""#), "\(greeted)")
        // The wrapper's prepare made this value once for the endpoint; accepts took greeter's endpoints only.
        #expect(greeted.contains("X-Greeter-Endpoint: typed GET /greet/:name/:times"), "\(greeted)")
        // nil (access.check denies mallory) answers null; a bad int32 is the host's 400, naming the parameter.
        #expect(serve.get("/greet/mallory/2").body == "null")
        let bad = serve.get("/greet/ada/many")
        #expect(bad.status == 400 && bad.body.contains("times"), "\(bad)")
        // A typed endpoint without parameters: the count of greetings served so far (2 and a /hello).
        #expect(serve.get("/hello?name=bob").status == 200)
        #expect(serve.get("/greetings").body == "2")
        let raw = try headers("/hello?name=bob")
        #expect(raw.contains("X-Greeter-Endpoint: raw GET /hello"))
        // Another plugin's endpoint: not accepted, so not wrapped.
        let calc = try headers("/calc/add/2/40")
        #expect(calc.hasSuffix("42") && !calc.contains("X-Greeter-Endpoint"), "\(calc)")
        #expect(serve.stop() == 0)
    }
}
