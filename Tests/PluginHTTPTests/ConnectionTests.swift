import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Hummingbird
import HummingbirdTesting
import Logging
import PluginHTTP
import PluginHTTPExtension
import PluginRuntime
import PluginTestSupport
import Testing

/// How the serving path treats a connection: order of pipelined answers whichever
/// path serves each request, clients that send slowly, clients that never read.
@Suite("Connections: pipelining, slow senders, clients that never read")
struct ConnectionTests {
    /// A server with the blocking pool: `ep` (may block: its routes run on the pool) and
    /// `deferred` (never blocks: inline, or deferred and resumed from its own thread).
    private func withPooledServer(_ body: @Sendable (Int) async throws -> Void) async throws {
        let folder = PluginFolder()
        folder.add("ep", library: "libhttp_fixture.so", symbol: "http_endpoints_entry")
        folder.copyFixture("deferred/a/libdeferred.so", as: "libdeferred.so")
        folder.manifest("deferred.toml", [("deferred", "libdeferred.so:deferred_entry")])
        let config = HostConfig(enabled: ["ep", "deferred"])
        var logger = Logger(label: "plughost-test")
        logger.logLevel = .critical
        let runtime = PluginRuntime(pluginsDirectory: folder.path, config: config, servesHTTP: true, logger: logger)
        try runtime.start()
        let pool = PluginCallPool(limits: .init(config), logger: logger)
        defer {
            pool.shutdown()
            runtime.shutdown()
        }
        let application = PluginHTTPServer.makeApplication(runtime: runtime, host: "127.0.0.1", port: 0,
                                                           headerTimeout: .seconds(3600), calls: pool, logger: logger)
        try await application.test(.live) { client in try await body(try #require(client.port)) }
    }

    @Test("pipelined requests are answered in order, whether the pool, the event loop, a deferring plugin or Hummingbird answers each")
    func pipelinedInOrder() async throws {
        try await withPooledServer { port in
            let requests = [
                "GET /r/slow HTTP/1.1\r\nHost: t\r\n\r\n",                     // pool, 600 ms
                "GET /d/sync HTTP/1.1\r\nHost: t\r\n\r\n",                     // inline
                "GET /d/wait?id=7&ms=200 HTTP/1.1\r\nHost: t\r\n\r\n",         // deferred, resumed 200 ms later
                "GET /_plughost/health HTTP/1.1\r\nHost: t\r\n\r\n",           // Hummingbird
                "GET /d/sync HTTP/1.1\r\nHost: t\r\n\r\n",                     // inline, behind Hummingbird's
                "POST /t/length HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nabcd", // pool, with a body
                "GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n",                    // the host's 404
                "GET /d/sync HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
            ]
            let (reply, closed) = try await Self.onThread {
                let fd = try RawHTTP.connect(port: port)
                defer { close(fd) }
                let text = requests.joined()
                _ = text.withCString { write(fd, $0, strlen($0)) }
                return RawHTTP.readUntilClosed(fd: fd, timeout: 30)
            }
            let answers = HTTPAnswers.parse(reply)
            #expect(closed, "the server closes after the request that asked it to")
            #expect(answers.map(\.status) == [200, 200, 200, 200, 200, 200, 404, 200])
            #expect(answers.map(\.body) == ["slow done", "now", "id 7 build a", answers[safe: 3]?.body ?? "?", "now", "4",
                                            answers[safe: 6]?.body ?? "?", "now"])
            #expect(answers[safe: 3]?.body.contains("alive") == true, "\(answers)")
        }
    }

    @Test("a client that sends one byte at a time is answered, pipelined requests too")
    func oneByteAtATime() async throws {
        try await withPooledServer { port in
            let text = "GET /d/sync HTTP/1.1\r\nHost: t\r\n\r\n" + "POST /r/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n" + "GET /t/add/2/3 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
            let reply = try await Self.onThread {
                let fd = try RawHTTP.connect(port: port)
                defer { close(fd) }
                for byte in Array(text.utf8) {
                    var one = byte
                    guard write(fd, &one, 1) == 1 else { throw POSIXError(.EPIPE) }
                    usleep(200)
                }
                return try RawHTTP.readToEnd(fd: fd)
            }
            let answers = HTTPAnswers.parse(reply)
            #expect(answers.map(\.status) == [200, 200, 200], "\(reply)")
            #expect(answers.map(\.body) == ["now", "abcde", "5"])
        }
    }

    @Test("a client that never reads its answers stops being read; other clients are served meanwhile; its leaving frees the server")
    func clientThatNeverReads() async throws {
        try await withPooledServer { port in
            // 64 KiB bodies echoed back: far more answer bytes than the socket buffers hold.
            let body = String(repeating: "x", count: 64 * 1024)
            let request = Array("POST /r/echo HTTP/1.1\r\nHost: t\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8)
            let wanted = 2_000 * request.count
            let stuck = try RawHTTP.connect(port: port)
            let flags = fcntl(stuck, F_GETFL)
            _ = fcntl(stuck, F_SETFL, flags | O_NONBLOCK)
            // Writes until the server stops reading (the kernel's buffers fill) or everything went.
            let sent = try await Self.onThread {
                var sent = 0
                var stalledSince: Date?
                while sent < wanted {
                    let offset = sent % request.count
                    let count = request.withUnsafeBytes { write(stuck, $0.baseAddress! + offset, request.count - offset) }
                    if count > 0 {
                        sent += count
                        stalledSince = nil
                    } else if errno == EAGAIN {
                        if let since = stalledSince, Date().timeIntervalSince(since) > 1 { break }
                        stalledSince = stalledSince ?? Date()
                        usleep(10_000)
                    } else {
                        throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
                    }
                }
                return sent
            }
            #expect(sent < wanted, "the server kept reading a client that reads none of its answers (\(sent) bytes taken)")
            // Meanwhile another client is answered at once.
            for index in 0..<20 {
                let reply = try await RawHTTP.sendAsync("GET /t/add/\(index)/1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", port: port)
                #expect(HTTPAnswers.parse(reply).first?.body == "\(index + 1)")
            }
            close(stuck)
            let after = try await RawHTTP.sendAsync("GET /d/sync HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", port: port)
            #expect(HTTPAnswers.parse(after).first?.body == "now")
        }
    }

    @Test("a client that closes its sending side after its requests still gets every answer, the pool's too")
    func halfClosedClient() async throws {
        try await withPooledServer { port in
            let reply = try await Self.onThread {
                let fd = try RawHTTP.connect(port: port)
                defer { close(fd) }
                let text = "GET /r/slow HTTP/1.1\r\nHost: t\r\n\r\nGET /d/sync HTTP/1.1\r\nHost: t\r\n\r\n"
                _ = text.withCString { write(fd, $0, strlen($0)) }
                shutdown(fd, Int32(SHUT_WR))
                return try RawHTTP.readToEnd(fd: fd)
            }
            #expect(HTTPAnswers.parse(reply).map(\.body) == ["slow done", "now"], "\(reply)")
        }
    }

    @Test("HTTP/1.0 closes unless kept alive; Expect: 100-continue gets its interim answer; HEAD gets no body; a refused body keeps a small connection")
    func connectionRules() async throws {
        try await withPooledServer { port in
            let old = try await RawHTTP.sendAsync("GET /d/sync HTTP/1.0\r\n\r\n", port: port)
            #expect(old.hasPrefix("HTTP/1.0 200"), "\(old)")
            #expect(HTTPAnswers.parse(old).first?.headers["connection"] == "close")

            let kept = try await RawHTTP.sendAsync("GET /d/sync HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /d/sync HTTP/1.0\r\n\r\n", port: port)
            #expect(HTTPAnswers.parse(kept).map(\.body) == ["now", "now"], "\(kept)")

            let continued = try await Self.onThread {
                let fd = try RawHTTP.connect(port: port)
                defer { close(fd) }
                let head = "POST /r/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
                _ = head.withCString { write(fd, $0, strlen($0)) }
                var interim = [UInt8](repeating: 0, count: 25)
                let count = read(fd, &interim, interim.count)
                _ = "hello".withCString { write(fd, $0, 5) }
                return (String(decoding: interim.prefix(max(0, count)), as: UTF8.self), try RawHTTP.readToEnd(fd: fd))
            }
            #expect(continued.0 == "HTTP/1.1 100 Continue\r\n\r\n")
            #expect(HTTPAnswers.parse(continued.1).first?.body == "hello")

            let head = try await RawHTTP.sendAsync("HEAD /d/sync HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", port: port)
            #expect(head.hasPrefix("HTTP/1.1 "), "\(head)")
            #expect(head.hasSuffix("\r\n\r\n"), "a HEAD answer carries no body: \(head)")
        }
    }

    /// Runs blocking socket work on a thread of its own (never on the pool the server's tasks need).
    private static func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try work() }) }.start()
        }
    }
}

/// HTTP/1.1 answers read back from raw bytes (every answer here carries Content-Length).
struct HTTPAnswers {
    struct Answer: CustomStringConvertible {
        var status: Int
        var headers: [String: String]
        var body: String
        var description: String { "\(status) \(headers) \(body)" }
    }

    static func parse(_ text: String) -> [Answer] {
        var answers: [Answer] = []
        var rest = Substring(text)
        while let end = rest.range(of: "\r\n\r\n") {
            let lines = rest[..<end.lowerBound].components(separatedBy: "\r\n")
            guard let statusLine = lines.first, let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") else { break }
            var headers: [String: String] = [:]
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            rest = rest[end.upperBound...]
            if status == 100 { continue }
            let length = Int(headers["content-length"] ?? "0") ?? 0
            let body = rest.utf8.prefix(length)
            answers.append(Answer(status: status, headers: headers, body: String(decoding: body, as: UTF8.self)))
            rest = Substring(rest.utf8.dropFirst(length))
        }
        return answers
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
