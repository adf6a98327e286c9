import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PluginRuntime
import PluginTestSupport
import Testing

/// Every `(pointer, length)` an accessor hands a plugin describes exactly the
/// bytes of the request: the `/r/spans/:seg` fixture endpoint answers, in hex,
/// the `length` bytes behind each pointer it got.
@Suite("Request accessors hand plugins exactly the request's bytes")
struct RequestBytesTests {
    private func spansFolder() -> (PluginFolder, HostConfig) {
        let folder = PluginFolder()
        folder.add("ep", library: "libhttp_fixture.so", symbol: "http_endpoints_entry")
        return (folder, HostConfig(enabled: ["ep"]))
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    @Test("%00 in a query value and a path segment arrives as a NUL inside the span, never followed by host memory")
    func escapedNul() async throws {
        let (folder, config) = spansFolder()
        let tail = String(repeating: "x", count: 60)
        try await withServer(folder, config) { client, _ in
            try await client.execute(uri: "/r/spans/a%00b?msg=a%00\(tail)", method: .get) { response in
                #expect(response.status == .ok)
                let expected = Self.hex(Array("a\0\(tail)".utf8)) + "|" + Self.hex([0x61, 0, 0x62]) + "|-"
                #expect(response.text == expected)
            }
        }
    }

    @Test("bytes that are not UTF-8 arrive as they were escaped (no U+FFFD put in their place)")
    func invalidUTF8() async throws {
        let (folder, config) = spansFolder()
        try await withServer(folder, config) { client, _ in
            try await client.execute(uri: "/r/spans/%FF%FE?msg=%C3%28+%2B", method: .get) { response in
                #expect(response.text == "c328202b|fffe|-")
            }
        }
    }

    @Test("a header value is handed over with its exact length")
    func headerSpan() async throws {
        let (folder, config) = spansFolder()
        try await withServer(folder, config) { client, _ in
            try await client.execute(uri: "/r/spans/s", method: .get, headers: [HTTPField.Name("X-Echo")!: "h\u{e9}llo"]) { response in
                #expect(response.text == "-|73|" + Self.hex(Array("h\u{e9}llo".utf8)))
            }
        }
    }

    @Test("empty path segments are ignored everywhere: the route is served, never a 405 for its own method", arguments: [
        ("//t/add/1/2", 200, "3"), ("/t//add/1/2", 200, "3"), ("/t/add/1/2/", 200, "3"), ("//t/small?n=4", 200, "8"),
        ("//nothing/here", 404, nil), ("/t//nothing", 404, nil),
    ] as [(String, Int, String?)])
    func emptySegments(path: String, status: Int, body: String?) async throws {
        let (folder, config) = spansFolder()
        try await withServer(folder, config) { client, _ in
            try await client.execute(uri: path, method: .get) { response in
                #expect(response.status.code == status, "\(path): \(response.text)")
                if let body { #expect(response.text == body) }
            }
            // A route that serves only POST still answers 405 (with Allow) to a GET, however its path is spelled.
            try await client.execute(uri: "//r//echo", method: .get) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "POST")
            }
        }
    }

    @Test("a body is read whether its length is given or it comes in chunks; a request without one has an empty body")
    func bodyFraming() async throws {
        let (folder, config) = spansFolder()
        try await withServer(folder, config) { client, _ in
            let port = try #require(client.port)
            let chunked = "POST /t/length HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                + "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"
            #expect(try await RawHTTP.sendAsync(chunked, port: port).hasSuffix("\r\n\r\n7"))
            let sized = "POST /t/length HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
            #expect(try await RawHTTP.sendAsync(sized, port: port).hasSuffix("\r\n\r\n5"))
            let none = "POST /t/length HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            #expect(try await RawHTTP.sendAsync(none, port: port).hasSuffix("\r\n\r\n0"))
        }
    }
}
