#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A GET to a running host's admin endpoint, over a plain TCP connection: what
/// `plughost status` needs, without an HTTP client library (one request, an
/// answer framed by Content-Length or by the connection closing).
struct AdminClient {
    let host: String
    let port: Int
    let token: String?
    /// Seconds to wait for the connection and the answer.
    var timeout = 5

    /// The status code and body of `GET path`.
    func get(_ path: String) throws -> (status: Int, body: [UInt8]) {
        // A host listening on every address answers on loopback too.
        let address = host == "0.0.0.0" || host.isEmpty ? "127.0.0.1" : host == "::" ? "::1" : host
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(address, String(port), &hints, &found) == 0, let info = found else {
            throw HostFileError("cannot resolve \(address)")
        }
        defer { freeaddrinfo(found) }
        let socket = Glibc.socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard socket >= 0 else { throw HostFileError("cannot open a socket: \(String(cString: strerror(errno)))") }
        defer { close(socket) }
        var limit = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        guard connect(socket, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            throw HostFileError("cannot connect to \(address):\(port): \(String(cString: strerror(errno)))")
        }
        var request = "GET \(path) HTTP/1.1\r\nHost: \(address):\(port)\r\nConnection: close\r\n"
        if let token { request += "Authorization: Bearer \(token)\r\n" }
        request += "\r\n"
        let bytes = Array(request.utf8)
        guard bytes.withUnsafeBytes({ send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == bytes.count else {
            throw HostFileError("cannot send to \(address):\(port): \(String(cString: strerror(errno)))")
        }
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while answer.count < 16 << 20 {
            let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count < 0 { throw HostFileError("no answer from \(address):\(port): \(String(cString: strerror(errno)))") }
            if count == 0 { break }
            answer += chunk[..<count]
            if let framed = Self.framed(answer) { return framed }
        }
        guard let framed = Self.framed(answer, closed: true) else { throw HostFileError("\(address):\(port) did not answer HTTP") }
        return framed
    }

    /// The status and body once `answer` holds all of them (or the connection `closed`).
    private static func framed(_ answer: [UInt8], closed: Bool = false) -> (status: Int, body: [UInt8])? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = answer.indices.dropLast(3).first(where: { Array(answer[$0..<$0 + 4]) == separator }) else { return nil }
        let head = String(decoding: answer[..<end], as: UTF8.self).split(separator: "\r\n")
        guard let statusLine = head.first, statusLine.hasPrefix("HTTP/"),
              let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") else { return nil }
        let body = Array(answer[(end + 4)...])
        let length = head.dropFirst().compactMap { line -> Int? in
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
            return Int(parts[1].trimmingCharacters(in: .whitespaces))
        }.first
        if let length { return body.count >= length ? (status, Array(body.prefix(length))) : nil }
        return closed ? (status, body) : nil
    }
}
