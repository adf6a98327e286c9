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

    @Test("JSON in and out: calc's POST /calc/stats (C) and greeter's Codable endpoints (Swift, sync and async)")
    func jsonEndpoints() throws {
        let folder = PluginFolder()
        let serve = try ServeProcess(folder: folder, extraArguments: ["--plugins", Fixtures.examples,
                                                                      "--config", Fixtures.repositoryRoot + "/plughost.toml", "--workers", "0"])
        OperationsTests.waitUntilReady(serve)
        func post(_ path: String, _ body: String) -> (status: Int?, headers: String, json: [String: Any]?) {
            let text = (try? RawHTTP.send("POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)",
                                          port: serve.port)) ?? ""
            let parts = text.components(separatedBy: "\r\n\r\n")
            let status = parts.first?.split(separator: " ").dropFirst().first.flatMap { Int($0) }
            let json = parts.count > 1 ? (try? JSONSerialization.jsonObject(with: Data(parts[1...].joined(separator: "\r\n\r\n").utf8))) as? [String: Any] : nil
            return (status, parts.first ?? "", json)
        }
        // calc: a JSON body checked against its schema, a JSON object answered (numbers compared as numbers).
        let stats = post("/calc/stats", #"{"values":[1,2,3]}"#)
        #expect(stats.status == 200 && stats.headers.contains("Content-Type: application/json"), "\(stats)")
        #expect((stats.json?["count"] as? NSNumber)?.doubleValue == 3 && (stats.json?["mean"] as? NSNumber)?.doubleValue == 2, "\(stats)")
        let notArray = post("/calc/stats", #"{"values":"x"}"#)
        #expect(notArray.status == 400 && (notArray.json?["path"] as? String)?.contains("values") == true, "\(notArray)")
        let notNumbers = post("/calc/stats", #"{"values":[1,"2"]}"#)
        #expect(notNumbers.status == 400 && notNumbers.json?["path"] as? String == "/values/1", "\(notNumbers)")
        let notJSON = post("/calc/stats", "not json")
        #expect(notJSON.status == 400 && (notJSON.json?["reason"] as? String)?.contains("not JSON") == true, "\(notJSON)")

        // greeter: a Decodable body (schema derived from the struct), an Encodable result.
        let greeted = post("/greetings", #"{"name":"ada","times":2}"#)
        #expect(greeted.status == 200 && greeted.json?["lines"] as? [String] == ["Hello, ada!", "Hello, ada!"], "\(greeted)")
        #expect(post("/greetings", #"{"name":"ada"}"#).json?["lines"] as? [String] == ["Hello, ada!"])  // an optional property
        let wrongType = post("/greetings", #"{"name":3}"#)
        #expect(wrongType.status == 400 && wrongType.json?["path"] as? String == "/name", "\(wrongType)")
        // HTTPError: the handler's own status and message.
        let denied = post("/greetings", #"{"name":"mallory"}"#)
        #expect(denied.status == 403 && (denied.json?["error"] as? String)?.contains("not greeting mallory") == true, "\(denied)")
        // An async Codable endpoint: the answer after an await.
        let later = serve.get("/greetings/bob/later")
        #expect(later.status == 200 && later.body == #"{"lines":["Hello, bob!"],"name":"bob"}"#, "\(later)")
        // The listing names each endpoint's real kind: raw, async (a raw one that defers), typed.
        let listing = try #require(try JSONSerialization.jsonObject(with: Data(serve.get("/_plughost/plugins").body.utf8)) as? [String: Any])
        let greeter = (listing["plugins"] as? [[String: Any]])?.first { $0["alias"] as? String == "greeter" }
        let kinds = Dictionary(uniqueKeysWithValues: ((greeter?["endpoints"] as? [[String: Any]]) ?? []).map {
            ("\($0["method"] ?? "") \($0["path"] ?? "")", $0["kind"] as? String ?? "")
        })
        #expect(kinds["GET /hello"] == "raw" && kinds["GET /hello/later"] == "async" && kinds["POST /greetings"] == "typed"
                && kinds["GET /greetings/:name/later"] == "typed", "\(kinds)")
        #expect(serve.stop() == 0)
    }
}
