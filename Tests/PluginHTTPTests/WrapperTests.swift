import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PluginRuntime
import PluginTestSupport
import Testing

@Suite("Wrapper chains around plugin endpoints")
struct WrapperTests {
    /// A folder with the endpoints plugin and one wrapper plugin per (alias, config).
    private func setup(_ wrappers: [(String, [String: ConfigValue])], order: [String]? = nil) -> (PluginFolder, HostConfig) {
        let folder = PluginFolder()
        folder.add("ep", library: "libhttp_fixture.so", symbol: "http_endpoints_entry")
        var tables: [String: [String: ConfigValue]] = [:]
        for (alias, table) in wrappers {
            folder.add(alias, library: "libhttp_fixture.so", symbol: "http_wrapper_entry")
            tables[alias] = table
        }
        return (folder, HostConfig(enabled: order ?? (wrappers.map(\.0) + ["ep"]), pluginConfigs: tables))
    }

    private let chain = HTTPField.Name("X-Chain")!

    @Test("wrappers nest in config order: the first is outermost, acting before and after the rest")
    func order() async throws {
        let (folder, config) = setup([("outer", ["mode": .string("tag")]), ("inner", ["mode": .string("tag")])])
        try await withServer(folder, config) { client, _ in
            try await client.execute(uri: "/t/add/1/2", method: .get) { response in
                #expect(response.text == "3")
                #expect(response.headers[chain] == "outer>inner><inner<outer")
            }
        }
    }

    @Test("a wrapper attaches by route pattern or to one endpoint")
    func matching() async throws {
        let (folder, config) = setup([
            ("prefix", ["mode": .string("tag"), "match": .string("/t/add/*")]),
            ("single", ["mode": .string("tag"), "match": .string("GET /t/small")]),
        ])
        try await withServer(folder, config) { client, _ in
            try await client.execute(uri: "/t/add/1/2", method: .get) { #expect($0.headers[chain] == "prefix><prefix") }
            try await client.execute(uri: "/t/small?n=1", method: .get) { #expect($0.headers[chain] == "single><single") }
            try await client.execute(uri: "/t/not?flag=1", method: .get) { #expect($0.headers[chain] == nil) }
        }
    }

    @Test("a wrapper that never calls next answers for the endpoint, before any parsing")
    func shortCircuit() async throws {
        let (folder, config) = setup([("gate", ["mode": .string("block"), "match": .string("/t/add/*")])])
        try await withServer(folder, config) { client, _ in
            try await client.execute(uri: "/t/add/not/numbers", method: .get) { response in
                #expect(response.status.code == 418)
                #expect(response.text == "blocked")
            }
            try await client.execute(uri: "/t/small?n=2", method: .get) { #expect($0.text == "4") }
        }
    }

    @Test("a wrapper returning an error answers 500 with its message and alias")
    func wrapperError() async throws {
        let (folder, config) = setup([("boom", ["mode": .string("fail")])])
        try await withServer(folder, config) { client, _ in
            try await client.execute(uri: "/t/add/1/2", method: .get) { response in
                #expect(response.status == .internalServerError)
                #expect(response.text == #"{"error":"plugin failed","plugin":"boom","message":"wrapper exploded"}"#)
            }
        }
    }

    @Test("a wrapper turns a downstream error into a response, and cannot call next twice")
    func rescue() async throws {
        let (folder, config) = setup([("medic", ["mode": .string("rescue")])])
        try await withServer(folder, config) { client, _ in
            try await client.execute(uri: "/r/fail", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.text == "rescued")
                #expect(response.headers[HTTPField.Name("X-Second-Next")!] == "5")  // PH_ERR_STATE
            }
        }
    }

    @Test("post-wrappers see parsed parameters; pre-wrappers run before parsing")
    func phases() async throws {
        let (folder, config) = setup([
            ("pre", ["mode": .string("post-param"), "phase": .string("pre")]),
            ("post", ["mode": .string("post-param"), "phase": .string("post")]),
        ], order: ["post", "pre", "ep"])
        try await withServer(folder, config) { client, _ in
            try await client.execute(uri: "/t/add/40/2", method: .get) { response in
                #expect(response.text == "42")
                // The post-wrapper set it last, from the parsed value; the pre-wrapper saw PH_ERR_STATE.
                #expect(response.headers[HTTPField.Name("X-Param-A")!] == "40")
            }
            try await client.execute(uri: "/t/add/x/2", method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(response.headers[HTTPField.Name("X-Param-A")!] == "status 5")
            }
        }
    }

    @Test("a wrapper sets a request property; endpoints read it, typed ones as a plugin-provided parameter")
    func properties() async throws {
        let (folder, config) = setup([("who", ["mode": .string("user")])])
        try await withServer(folder, config) { client, _ in
            try await client.execute(uri: "/t/user", method: .get) { #expect($0.text == "\"user=carol\"") }
            try await client.execute(uri: "/r/echo", method: .post, body: ByteBuffer(string: "ping")) { response in
                #expect(response.text == "ping")
                #expect(response.headers[HTTPField.Name("X-Seen-User")!] == "carol")
            }
        }
    }

    @Test("a wrapper changes the request before the endpoint reads it (header names are case-insensitive)")
    func changeRequest() async throws {
        let (folder, config) = setup([("rename", ["mode": .string("rename")])])
        try await withServer(folder, config) { client, _ in
            try await client.execute(uri: "/t/hello", method: .get, headers: [HTTPField.Name("X-Name")!: "ada"]) {
                #expect($0.text == "\"hello wrapped\"")
            }
            try await client.execute(uri: "/t/hello", method: .get) { #expect($0.text == "\"hello wrapped\"") }
        }
    }

    @Test("a plugin-provided string with a NUL inside is refused for a typed string argument, not cut at the NUL")
    func pluginParameterWithNul() async throws {
        let (folder, config) = setup([("who", ["mode": .string("user-nul")])])
        try await withServer(folder, config) { client, _ in
            try await client.execute(uri: "/t/user", method: .get) { response in
                #expect(response.status == .internalServerError)
                #expect(response.text.contains("invalid plugin-provided parameter") && response.text.contains("NUL"), "\(response.text)")
                #expect(!response.text.contains("user=car"))
            }
        }
    }

    @Test("a plugin-provided parameter nobody provided answers 500")
    func missingPluginParameter() async throws {
        let (folder, config) = setup([])
        try await withServer(folder, config) { client, _ in
            try await client.execute(uri: "/t/user", method: .get) { response in
                #expect(response.status == .internalServerError)
                #expect(response.text.contains("missing plugin-provided parameter"))
            }
        }
    }

    @Test("accepts picks endpoints at load; prepare's state is per endpoint; a failed prepare disables the endpoint")
    func acceptsAndPrepare() async throws {
        let (folder, config) = setup([("picky", ["mode": .string("picky")])])
        try await withServer(folder, config) { client, runtime in
            let picky = HTTPField.Name("X-Picky")!
            try await client.execute(uri: "/t/add/1/2", method: .get) { #expect($0.headers[picky] == "GET 2 params") }
            try await client.execute(uri: "/t/small?n=1", method: .get) { #expect($0.headers[picky] == "GET 1 params") }
            try await client.execute(uri: "/r/echo", method: .post) { #expect($0.headers[picky] == nil) }
            try await client.execute(uri: "/t/ratio/1", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.text.contains("cannot wrap /t/ratio/:x"))
            }
            #expect(runtime.statuses.of("picky")?.warnings.contains { $0.code == .wrapperFailed } == true)
        }
    }
}
