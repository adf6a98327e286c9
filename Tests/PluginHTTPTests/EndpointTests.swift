import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PluginRuntime
import PluginHTTPExtension
import PluginTestSupport
import Testing

@Suite("HTTP endpoints from plugins, over real HTTP")
struct EndpointTests {
    private func endpointsFolder() -> (PluginFolder, HostConfig) {
        let folder = PluginFolder()
        folder.add("ep", library: "libhttp_fixture.so", symbol: "http_endpoints_entry")
        return (folder, HostConfig(enabled: ["ep"]))
    }

    @Test("typed endpoints parse path, query, header and body values and answer JSON")
    func typedEndpoints() async throws {
        let (folder, config) = endpointsFolder()
        try await withServer(folder, config) { client, _ in
            try await client.execute(uri: "/t/add/40/2", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                #expect(response.text == "42")
            }
            try await client.execute(uri: "/t/add/-5/%2B3", method: .get) { #expect($0.text == "-2") }
            try await client.execute(uri: "/t/small?n=21", method: .get) { #expect($0.text == "42") }
            try await client.execute(uri: "/t/hello", method: .get, headers: [HTTPField.Name("X-Name")!: "ada"]) { #expect($0.text == "\"hello ada\"") }
            try await client.execute(uri: "/t/length", method: .post, body: ByteBuffer(string: "12345")) { #expect($0.text == "5") }
            try await client.execute(uri: "/t/not?flag=false", method: .get) { #expect($0.text == "true") }
            try await client.execute(uri: "/t/ratio/1", method: .get) { #expect($0.text == "0.25") }
        }
    }

    @Test("missing, mistyped and out-of-range parameters answer 400 naming the parameter", arguments: [
        ("/t/add/x/1", "a", "expected an integer, got 'x'"),
        ("/t/add/1/99999999999999999999", "b", "out of range for a 64-bit integer"),
        ("/t/small", "n", "missing query parameter 'n'"),
        ("/t/small?n=3000000000", "n", "out of range for a 32-bit integer"),
        ("/t/not?flag=maybe", "flag", "expected true or false"),
        ("/t/ratio/abc", "x", "expected a finite number"),
        ("/t/hello", "X-Name", "missing header parameter 'X-Name'"),
    ])
    func badParameters(uri: String, parameter: String, reason: String) async throws {
        let (folder, config) = endpointsFolder()
        try await withServer(folder, config) { client, _ in
            try await client.execute(uri: uri, method: .get) { response in
                #expect(response.status == .badRequest)
                let json = try #require(try JSONSerialization.jsonObject(with: Data(response.text.utf8)) as? [String: String])
                #expect(json["parameter"] == parameter)
                #expect(json["reason"]?.contains(reason) == true, "\(json)")
            }
        }
    }

    @Test("unknown paths answer 404 JSON, known paths with another method 405")
    func notFound() async throws {
        let (folder, config) = endpointsFolder()
        try await withServer(folder, config) { client, _ in
            try await client.execute(uri: "/nowhere", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.text.contains(#""error":"not found""#))
            }
            try await client.execute(uri: "/t/add/1/2", method: .post) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "GET")
            }
        }
    }

    @Test("a body over the limit answers 413; the server keeps serving")
    func bodyLimit() async throws {
        let (folder, config) = endpointsFolder()
        try await withServer(folder, config, maxBodyBytes: 16) { client, _ in
            try await client.execute(uri: "/t/length", method: .post, body: ByteBuffer(repeating: 1, count: 100)) {
                #expect($0.status == .contentTooLarge)
            }
            try await client.execute(uri: "/t/length", method: .post, body: ByteBuffer(repeating: 1, count: 10)) { #expect($0.text == "10") }
        }
    }

    @Test("a handler returning an error answers 500 with the plugin's message and alias")
    func handlerError() async throws {
        let (folder, config) = endpointsFolder()
        try await withServer(folder, config) { client, _ in
            try await client.execute(uri: "/r/fail", method: .get) { response in
                #expect(response.status == .internalServerError)
                #expect(response.text == #"{"error":"plugin failed","plugin":"ep","message":"handler exploded"}"#)
            }
            try await client.execute(uri: "/t/add/1/1", method: .get) { #expect($0.text == "2") }
        }
    }

    @Test("signatures the host cannot call and reserved paths are refused at load with a reason; the rest is served")
    func refusedRegistrations() async throws {
        let (folder, config) = endpointsFolder()
        try await withServer(folder, config) { client, runtime in
            let warnings = try #require(runtime.statuses.of("ep")).warnings.map(\.reason)
            #expect(warnings.count == 3, "\(warnings)")
            #expect(warnings.contains { $0.contains("/t/bad-result") && $0.contains("result type bytes cannot be returned") })
            #expect(warnings.contains { $0.contains("path parameter 'x' is not a ':x' segment") })
            #expect(warnings.contains { $0.contains("reserved prefix /_plughost/") })
            #expect(runtime.statuses.of("ep")?.state == .running)
            try await client.execute(uri: "/t/bad-result", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/t/add/2/3", method: .get) { #expect($0.text == "5") }
        }
    }

    @Test("one endpoint per method and path: the first in config order wins, the loser is told why")
    func endpointConflict() async throws {
        let folder = PluginFolder()
        folder.add("first", library: "libhttp_fixture.so", symbol: "http_endpoints_entry")
        folder.manifest("second.toml", [("second", "libhttp_fixture.so:http_endpoints_entry")])
        try await withServer(folder, HostConfig(enabled: ["second", "first"])) { client, runtime in
            let conflicts = runtime.statuses.of("first")?.warnings.filter { $0.code == .endpointConflict } ?? []
            #expect(conflicts.count == 11)  // every endpoint of the fixture (see http_fixture.c)
            #expect(conflicts.first?.reason.contains("already served by 'second'") == true)
            let listing = runtime.generation!.endpoints.listing
            #expect(listing.allSatisfy { $0.alias == "second" })
            try await client.execute(uri: "/r/fail", method: .get) { #expect($0.text.contains(#""plugin":"second""#)) }
        }
    }

    @Test("the admin listing shows every alias with state, version, library, ABI, endpoints, wrappers and last error")
    func adminListing() async throws {
        let folder = PluginFolder()
        folder.add("ep", library: "libhttp_fixture.so", symbol: "http_endpoints_entry")
        folder.add("tag", library: "libhttp_fixture.so", symbol: "http_wrapper_entry")
        folder.manifest("broken.toml", [("broken", "libmissing.so:entry")])
        try await withServer(folder, HostConfig(enabled: ["tag", "ep", "broken"])) { client, _ in
            try await client.execute(uri: "/_plughost/plugins", method: .get) { response in
                #expect(response.status == .ok)
                let json = try #require(try JSONSerialization.jsonObject(with: Data(response.text.utf8)) as? [String: Any])
                let plugins = try #require(json["plugins"] as? [[String: Any]])
                let ep = try #require(plugins.first { $0["alias"] as? String == "ep" })
                #expect(ep["state"] as? String == "running")
                #expect(ep["version"] as? String == "1.0.0" && ep["abi"] as? String == "1.3")
                #expect((ep["library"] as? String)?.hasSuffix("libhttp_fixture.so") == true)
                let endpoints = try #require(ep["endpoints"] as? [[String: Any]])
                #expect(endpoints.count == 11)
                #expect((endpoints.first?["wrappers"] as? [String]) == ["tag/tag"])
                #expect((ep["last_error"] as? String)?.contains("registration refused") == true)
                let tag = try #require(plugins.first { $0["alias"] as? String == "tag" })
                #expect((tag["wrappers"] as? [String]) == ["tag (pre, *)"])
                let broken = try #require(plugins.first { $0["alias"] as? String == "broken" })
                #expect(broken["state"] as? String == "failed")
                #expect((broken["last_error"] as? String)?.contains("does not exist") == true)
            }
        }
    }

    @Test("request-received and response-sent reach subscribers with method, path, status and duration")
    func trafficEvents() async throws {
        let folder = PluginFolder()
        folder.add("ep", library: "libhttp_fixture.so", symbol: "http_endpoints_entry")
        folder.addRecorder("rec")
        let config = HostConfig(enabled: ["ep", "rec"], pluginConfigs: ["rec": ["log": .string(folder.log)]])
        try await withServer(folder, config) { client, _ in
            try await client.execute(uri: "/t/add/1/2?x=y", method: .get) { #expect($0.status == .ok) }
        }
        let events = folder.events()
        #expect(events.contains("rec plughost.request-received GET /t/add/1/2"))
        let sent = try #require(events.first { $0.hasPrefix("rec plughost.response-sent ") })
        let fields = sent.split(separator: " ")
        #expect(fields[2] == "200" && Int(fields[3]) != nil && fields[4] == "GET" && fields[5] == "/t/add/1/2")
    }

    @Test("client-connected and client-disconnected reach subscribers with the peer's address")
    func connectionEvents() async throws {
        let folder = PluginFolder()
        folder.add("ep", library: "libhttp_fixture.so", symbol: "http_endpoints_entry")
        folder.addRecorder("rec")
        let config = HostConfig(enabled: ["ep", "rec"], pluginConfigs: ["rec": ["log": .string(folder.log)]])
        try await withServer(folder, config) { client, _ in
            try await client.execute(uri: "/t/add/1/2", method: .get) { #expect($0.status == .ok) }
            // The client closes its connection when the test body ends; wait for that below.
        }
        var events = folder.events()
        for _ in 0..<200 where !events.contains(where: { $0.hasPrefix("rec plughost.client-disconnected ") }) {
            try await Task.sleep(for: .milliseconds(10))
            events = folder.events()
        }
        let connected = try #require(events.first { $0.hasPrefix("rec plughost.client-connected ") }, "\(events)")
        #expect(connected.split(separator: " ").last?.hasPrefix("127.0.0.1:") == true, "\(connected)")
        let disconnected = try #require(events.first { $0.hasPrefix("rec plughost.client-disconnected ") }, "\(events)")
        #expect(disconnected.split(separator: " ").last == connected.split(separator: " ").last)
        #expect(events.firstIndex(of: connected)! < events.firstIndex { $0.hasPrefix("rec plughost.request-received") }!)
    }

    @Test("Swift plugins serve endpoints and wrappers through the SDK")
    func swiftEndpoints() async throws {
        let folder = PluginFolder()
        folder.add("sw", library: "libswift_recorder.so", symbol: "swift_recorder_entry")
        let config = HostConfig(enabled: ["sw"], pluginConfigs: ["sw": ["log": .string(folder.log)]])
        try await withServer(folder, config) { client, _ in
            try await client.execute(uri: "/swift/hello/ada?times=3", method: .get, headers: [HTTPField.Name("X-Greeting")!: "hello"]) { response in
                #expect(response.status == .created)
                #expect(response.text == "hello ada x3 as swifty via GET /swift/hello/ada")
                #expect(response.headers[HTTPField.Name("X-Swift-Wrapped")!] == "status 201")
            }
            try await client.execute(uri: "/swift/fail", method: .post, body: ByteBuffer(string: "12345")) { response in
                #expect(response.status == .internalServerError)
                #expect(response.text == #"{"error":"plugin failed","plugin":"sw","message":"swift endpoint failed on 5 bytes"}"#)
            }
        }
    }

    @Test("a malformed request gets an error and the server keeps serving")
    func malformedRequest() async throws {
        let (folder, config) = endpointsFolder()
        try await withServer(folder, config) { client, _ in
            let port = try #require(client.port)
            let reply = try await RawHTTP.sendAsync("GARBAGE \u{1}\u{2} nonsense\r\n\r\n", port: port)
            #expect(reply.hasPrefix("HTTP/1.1 400 Bad Request"), "\(reply)")
            try await client.execute(uri: "/t/add/1/1", method: .get) { #expect($0.text == "2") }
        }
    }
}
