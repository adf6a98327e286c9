import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PluginRuntime
import PluginHTTPExtension
import PluginTestSupport
import Testing

@Suite("Typed endpoints that speak JSON (ABI 1.3), over real HTTP")
struct JSONEndpointTests {
    private func jsonFolder() -> (PluginFolder, HostConfig) {
        let folder = PluginFolder()
        folder.add("js", library: "libjson_fixture.so", symbol: "json_endpoints_entry")
        return (folder, HostConfig(enabled: ["js"]))
    }

    /// The body as a JSON object.
    private func object(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.text.utf8)) as? [String: Any], "\(response.text)")
    }

    @Test("a JSON body arrives exactly and a JSON result is answered as it is, as application/json")
    func echo() async throws {
        let (folder, config) = jsonFolder()
        try await withServer(folder, config) { client, _ in
            let document = #"{"a":[1,2.5,"x\u00e9",null,true],"b":{"c":18446744073709551616}}"#
            try await client.execute(uri: "/j/echo", method: .post, body: ByteBuffer(string: document)) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                #expect(response.text == document)
            }
        }
    }

    @Test("a body that is not JSON answers 400 saying so, before the plugin runs", arguments: [
        "not json", "{\"a\":1,}", "{\"a\":1} x", "[1,2", "{\"a\":1,\"a\":2}", "\"\\ud800\"", "",
    ])
    func notJSON(body: String) async throws {
        let (folder, config) = jsonFolder()
        try await withServer(folder, config) { client, _ in
            try await client.execute(uri: "/j/echo", method: .post, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .badRequest)
                let json = try object(response)
                #expect(json["parameter"] as? String == "body")
                let reason = try #require(json["reason"] as? String)
                #expect(reason.contains("not JSON") || reason.contains("empty"), "\(reason)")
            }
        }
    }

    @Test("a body nested deeper than the limit is refused, not parsed to the end of the stack")
    func deepBody() async throws {
        let (folder, config) = jsonFolder()
        try await withServer(folder, config) { client, _ in
            let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
            try await client.execute(uri: "/j/echo", method: .post, body: ByteBuffer(string: deep)) { response in
                #expect(response.status == .badRequest)
                #expect(response.text.contains("nested more than 64 deep"))
            }
        }
    }

    @Test("a body breaking the schema answers 400 naming the failing field's JSON Pointer", arguments: [
        (#"{"quantity":2}"#, "/item", "required property 'item' is missing"),
        (#"{"item":""}"#, "/item", "shorter than 1 characters"),
        (#"{"item":"tea","quantity":0}"#, "/quantity", "less than the minimum 1"),
        (#"{"item":"tea","quantity":1.5}"#, "/quantity", "expected integer, got number"),
        (#"{"item":"tea","size":"XL"}"#, "/size", #"expected one of ["S","M","L"]"#),
        (#"{"item":"tea","tags":["a",2]}"#, "/tags/1", "expected string, got integer"),
        (#"{"item":"tea","tags":["a","b","c","d"]}"#, "/tags", "more than 3 items"),
        (#"{"item":"tea","colour":"red"}"#, "/colour", "not allowed"),
        (#"["tea"]"#, "", "expected object, got array"),
    ])
    func schemaViolations(body: String, pointer: String, reason: String) async throws {
        let (folder, config) = jsonFolder()
        try await withServer(folder, config) { client, _ in
            try await client.execute(uri: "/j/order", method: .post, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .badRequest)
                let json = try object(response)
                #expect(json["path"] as? String == pointer, "\(json)")
                #expect((json["reason"] as? String)?.contains(reason) == true, "\(json)")
            }
        }
    }

    @Test("a valid body reaches the plugin, which answers its declared status")
    func declaredStatus() async throws {
        let (folder, config) = jsonFolder()
        try await withServer(folder, config) { client, _ in
            try await client.execute(uri: "/j/order", method: .post, body: ByteBuffer(string: #"{"item":"tea","quantity":2.0,"size":"M"}"#)) { response in
                #expect(response.status == .created)
                let json = try object(response)
                #expect(json["item"] as? String == "tea")
                #expect(json["quantity"] as? Int == 2)
            }
        }
    }

    @Test("a result that is malformed, NULL or off its schema answers 500 naming the plugin", arguments: [
        ("/j/malformed", "malformed JSON"), ("/j/null", "NULL"), ("/j/off-schema", "/count"),
    ])
    func badResults(path: String, reason: String) async throws {
        let (folder, config) = jsonFolder()
        try await withServer(folder, config) { client, _ in
            try await client.execute(uri: path, method: .get) { response in
                #expect(response.status == .internalServerError)
                let json = try object(response)
                #expect(json["plugin"] as? String == "js")
                #expect((json["message"] as? String)?.contains(reason) == true, "\(json)")
            }
        }
    }

    @Test("a declared content type that is not JSON sends a string as its text; 204 sends no body")
    func contentTypeAndNoContent() async throws {
        let (folder, config) = jsonFolder()
        try await withServer(folder, config) { client, _ in
            try await client.execute(uri: "/j/text", method: .get) { response in
                #expect(response.headers[.contentType] == "text/plain; charset=utf-8")
                #expect(response.text == #"plain "text""#)
            }
            try await client.execute(uri: "/j/item/7", method: .delete) { response in
                #expect(response.status == .noContent)
                #expect(response.body.readableBytes == 0)
            }
        }
    }

    @Test("a handler-form endpoint reads parsed parameters, may answer its own error, and its JSON is checked")
    func handlerForm() async throws {
        let (folder, config) = jsonFolder()
        try await withServer(folder, config) { client, _ in
            try await client.execute(uri: "/j/handled/42", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                #expect(response.text == #"{"id":42}"#)
            }
            try await client.execute(uri: "/j/handled/x", method: .get) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/j/handled/0", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.text == #"{"error":"no item 0"}"#)
            }
            try await client.execute(uri: "/j/handled/13", method: .get) { response in
                #expect(response.status == .internalServerError)
                let json = try object(response)
                #expect(json["plugin"] as? String == "js")
            }
        }
    }

    @Test("a deferring handler-form endpoint's answer is checked when it resumes")
    func deferredHandler() async throws {
        let (folder, config) = jsonFolder()
        try await withServer(folder, config) { client, _ in
            try await client.execute(uri: "/j/later", method: .post, body: ByteBuffer(string: #"{"later":true}"#)) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                #expect(response.text == #"{"later":true}"#)
            }
            try await client.execute(uri: "/j/later", method: .post, body: ByteBuffer(string: "nope")) { #expect($0.status == .badRequest) }
        }
    }

    @Test("registrations breaking a 1.3 rule are refused, each with its reason, and the plugin still loads")
    func refusals() async throws {
        let folder = PluginFolder()
        folder.add("rf", library: "libjson_fixture.so", symbol: "json_refusals_entry")
        try await withServer(folder, HostConfig(enabled: ["rf"])) { client, runtime in
            try await client.execute(uri: "/r/ok", method: .get) { #expect($0.status == .ok) }
            let warnings = runtime.statuses.first { $0.alias == "rf" }?.warnings.map(\.description).joined(separator: "\n") ?? ""
            for reason in ["keyword 'pattern' is not in the subset", "the schema is not JSON", "status 404 is not a success status",
                           "only a body parameter", "needs a JSON content type", "both a function and a handler",
                           "body_schema is set but no body parameter", "a function cannot defer", "answers json or void"] {
                #expect(warnings.contains(reason), "missing refusal: \(reason)\n\(warnings)")
            }
        }
    }

    @Test("an ABI 1.2 plugin's typed endpoint loads and serves as before: nothing past its struct_size is read")
    func legacyPlugin() async throws {
        let folder = PluginFolder()
        folder.add("old", library: "libjson_fixture.so", symbol: "json_legacy_entry")
        try await withServer(folder, HostConfig(enabled: ["old"])) { client, runtime in
            try await client.execute(uri: "/legacy/add/40/2", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                #expect(response.text == "42")
            }
            #expect(runtime.statuses.first { $0.alias == "old" }?.abi == "1.2")
        }
    }

    @Test("the OpenAPI document lists every endpoint with its parameters, schemas, statuses and plugin")
    func openAPI() async throws {
        let (folder, config) = jsonFolder()
        try await withServer(folder, config) { client, _ in
            try await client.execute(uri: "/_plughost/openapi.json", method: .get) { response in
                #expect(response.status == .ok)
                let document = try object(response)
                #expect(document["openapi"] as? String == "3.1.0")
                let paths = try #require(document["paths"] as? [String: Any])
                let order = try #require((paths["/j/order"] as? [String: Any])?["post"] as? [String: Any])
                #expect(order["x-plughost-plugin"] as? String == "js")
                let responses = try #require(order["responses"] as? [String: Any])
                #expect(responses["201"] != nil && responses["400"] != nil && responses["500"] != nil)
                let body = try #require(((order["requestBody"] as? [String: Any])?["content"] as? [String: Any])?["application/json"] as? [String: Any])
                #expect((body["schema"] as? [String: Any])?["required"] as? [String] == ["item"])
                let item = try #require((paths["/j/handled/{id}"] as? [String: Any])?["get"] as? [String: Any])
                let parameter = try #require((item["parameters"] as? [[String: Any]])?.first)
                #expect(parameter["in"] as? String == "path" && parameter["name"] as? String == "id")
                #expect((parameter["schema"] as? [String: Any])?["format"] as? String == "int64")
            }
            // The admin page links it (relative, so it works behind a path prefix).
            try await client.execute(uri: "/_plughost/", method: .get) { #expect($0.text.contains(#"href="openapi.json""#)) }
        }
    }
}
