import NIOCore
import NIOHTTP1
import PluginHTTPExtension

/// Writes a plugin response as HTTP/1 bytes: status line, the plugin's header
/// fields (made safe, see ``ResponseFields``), the framing and date fields the
/// host owns, then the body, into one buffer the connection reuses.
enum ResponseBytes {
    /// Appends `response` to `buffer` for a request of `version`; `close` says the
    /// connection closes after it; `omitBody` leaves the body out (an answer to `HEAD`).
    static func write(_ response: PluginHTTPResponse, version: HTTPVersion, close: Bool, omitBody: Bool,
                      date: String, server: String, into buffer: inout ByteBuffer) {
        // An interim status (1xx) would leave the client waiting for the final answer, every later
        // one taken for the wrong request: a plugin's is answered as its failure.
        guard response.status >= 200 else {
            let failure = PluginHTTPResponse.hostError(500, "plugin answered an interim status", ["status": .number(response.status)])
            return write(failure, version: version, close: close, omitBody: omitBody, date: date, server: server, into: &buffer)
        }
        // 204 and 304 answers end with their header (RFC 9110 6.4.1): no length, no body.
        let bodiless = response.status == 204 || response.status == 304
        statusLine(version: version, status: response.status, into: &buffer)
        for (name, value) in response.headers where ResponseFields.isPluginSettable(name) {
            buffer.writeString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(ResponseFields.legalValue(value))
            buffer.writeStaticString("\r\n")
        }
        if !bodiless {
            buffer.writeStaticString("Content-Length: ")
            buffer.writeString(String(response.body.count))
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("Date: ")
        buffer.writeString(date)
        buffer.writeStaticString("\r\nServer: ")
        buffer.writeString(server)
        if close {
            buffer.writeStaticString("\r\nConnection: close")
        } else if version.minor == 0 {
            buffer.writeStaticString("\r\nConnection: keep-alive")
        }
        buffer.writeStaticString("\r\n\r\n")
        if !omitBody && !bodiless { buffer.writeBytes(response.body) }
    }

    /// `HTTP/1.1 100 Continue` and the empty line.
    static func writeContinue(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("HTTP/1.1 100 Continue\r\n\r\n")
    }

    /// A 400 without a body, closing the connection (a request that did not parse).
    static func writeBadRequest(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    }

    private static func statusLine(version: HTTPVersion, status: Int, into buffer: inout ByteBuffer) {
        buffer.writeStaticString(version.minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ")
        // Plugins may set 100...599 only (http->set_status); the host's own answers are in range too.
        let code = (100...999).contains(status) ? status : 500
        buffer.writeInteger(UInt8(ascii: "0") + UInt8(code / 100))
        buffer.writeInteger(UInt8(ascii: "0") + UInt8(code / 10 % 10))
        buffer.writeInteger(UInt8(ascii: "0") + UInt8(code % 10))
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeString(HTTPResponseStatus(statusCode: code).reasonPhrase)
        buffer.writeStaticString("\r\n")
    }
}

/// Which response header fields a plugin may set, and values made safe to send.
enum ResponseFields {
    /// The host frames the message and dates it itself: a plugin's `Content-Length`,
    /// `Transfer-Encoding`, `Connection`, `Date` and `Server` are dropped (the host's own are
    /// sent), as are names that are not HTTP tokens.
    static func isPluginSettable(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.allSatisfy(isTokenByte) else { return false }
        switch name.utf8.count {
        case 4, 6, 10, 14, 17:
            return !hostOwned.contains(name.lowercased())
        default:
            return true
        }
    }

    private static let hostOwned: Set<String> = ["content-length", "transfer-encoding", "connection", "date", "server"]

    /// `value` with every control byte but tab replaced by a space and surrounding
    /// whitespace removed (what Swift HTTP Types does to a field value): a plugin cannot
    /// end a header line early.
    static func legalValue(_ value: String) -> String {
        let bytes = value.utf8
        let clean = bytes.allSatisfy { ($0 >= 0x20 && $0 != 0x7F) || $0 == 0x09 }
        let untrimmed = (bytes.first.map { $0 != 0x20 && $0 != 0x09 } ?? true) && (bytes.last.map { $0 != 0x20 && $0 != 0x09 } ?? true)
        if clean && untrimmed { return value }
        let replaced = bytes.map { ($0 >= 0x20 && $0 != 0x7F) || $0 == 0x09 ? $0 : 0x20 }
        let start = replaced.firstIndex { $0 != 0x20 && $0 != 0x09 } ?? replaced.endIndex
        let end = replaced.lastIndex { $0 != 0x20 && $0 != 0x09 }.map { $0 + 1 } ?? start
        return String(decoding: replaced[start..<max(start, end)], as: UTF8.self)
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }
}
