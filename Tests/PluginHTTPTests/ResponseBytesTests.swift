import NIOCore
import NIOHTTP1
@testable import PluginHTTP
import PluginHTTPExtension
import Testing

@Suite("Answers written as bytes: framing and header fields the host owns")
struct ResponseBytesTests {
    private func bytes(_ response: PluginHTTPResponse, version: HTTPVersion = .http1_1, close: Bool = false, head: Bool = false) -> String {
        var buffer = ByteBuffer()
        ResponseBytes.write(response, version: version, close: close, omitBody: head, date: "D", server: "plughost", into: &buffer)
        return String(buffer: buffer)
    }

    @Test("status line, the plugin's fields, the host's framing, the body")
    func plainAnswer() {
        let text = bytes(PluginHTTPResponse(status: 201, headers: [("X-A", "1")], body: Array("hi".utf8)))
        #expect(text == "HTTP/1.1 201 Created\r\nX-A: 1\r\nContent-Length: 2\r\nDate: D\r\nServer: plughost\r\n\r\nhi")
    }

    @Test("a plugin cannot end a header line early, frame the message or set the host's own fields")
    func pluginFieldsAreSafe() {
        let text = bytes(PluginHTTPResponse(status: 200, headers: [
            ("X-Evil", "a\r\nSet-Cookie: stolen=1"), ("Bad Name", "x"), ("Content-Length", "99"), ("transfer-encoding", "chunked"),
            ("Connection", "keep-alive"), ("Date", "yesterday"), ("Server", "other"), ("X-Trim", "  v\t"),
        ], body: Array("ok".utf8)))
        #expect(text == "HTTP/1.1 200 OK\r\nX-Evil: a  Set-Cookie: stolen=1\r\nX-Trim: v\r\nContent-Length: 2\r\nDate: D\r\nServer: plughost\r\n\r\nok")
    }

    @Test("204 and 304 carry neither length nor body; an interim status from a plugin is its failure")
    func bodilessAndInterim() {
        #expect(bytes(PluginHTTPResponse(status: 204, body: Array("x".utf8))) == "HTTP/1.1 204 No Content\r\nDate: D\r\nServer: plughost\r\n\r\n")
        #expect(bytes(PluginHTTPResponse(status: 304, body: Array("x".utf8))) == "HTTP/1.1 304 Not Modified\r\nDate: D\r\nServer: plughost\r\n\r\n")
        let interim = bytes(PluginHTTPResponse(status: 101))
        #expect(interim.hasPrefix("HTTP/1.1 500 Internal Server Error\r\n"))
        #expect(interim.hasSuffix(#"{"error":"plugin answered an interim status","status":101}"#))
    }

    @Test("HEAD keeps the length and drops the body; HTTP/1.0 is told when the connection stays; close is said")
    func headAndVersions() {
        let response = PluginHTTPResponse(status: 200, body: Array("abc".utf8))
        #expect(bytes(response, head: true) == "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nDate: D\r\nServer: plughost\r\n\r\n")
        #expect(bytes(response, version: .http1_0).contains("\r\nConnection: keep-alive\r\n"))
        #expect(bytes(response, close: true).contains("\r\nConnection: close\r\n"))
    }

    @Test("every body the host writes is one JSON object, its strings escaped")
    func hostErrorBodies() {
        let body = HostErrorBody("plugin failed", ["plugin": .text("a\"b"), "running": 3, "allowed": .texts(["GET", "POST"])])
        #expect(body.json == #"{"error":"plugin failed","plugin":"a\"b","running":3,"allowed":["GET","POST"]}"#)
    }
}
