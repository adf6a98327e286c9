import Foundation
import PluginRuntime
import PluginTestSupport

/// A `plughost serve` process on a free loopback port, with its pid file in the test's folder.
final class ServeProcess: @unchecked Sendable {
    // @unchecked Sendable: every member is set in init; Process is used by the owning test only.
    let process = Process()
    let port: Int
    let pidFile: String
    let logPath: String

    /// Starts `plughost serve` over `folder` with `folder/host.toml`; waits until it listens.
    init(folder: PluginFolder, extraArguments: [String] = [], environment: [String: String] = [:]) throws {
        pidFile = folder.path + "/plughost.pid"
        logPath = folder.path + ".serve.log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: Plughost.path)
        process.arguments = ["serve", "--plugins", folder.path, "--config", folder.path + "/host.toml", "--port", "0",
                             "--pid-file", pidFile] + extraArguments
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        // Not the test's own output: a server left behind by a test that died must not keep
        // `swift test` waiting for the end of that pipe.
        process.standardOutput = FileHandle.nullDevice
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        try process.run()
        var found: Int?
        let deadline = Date().addingTimeInterval(20)
        while found == nil && Date() < deadline && process.isRunning {
            // "serving HTTP on HOST:PORT", in a plain log line or inside a JSON one.
            found = Self.read(logPath).split(separator: "\n").lazy.compactMap(Self.port(inServingLine:)).first
            if found == nil { usleep(20_000) }
        }
        guard let found else {
            process.terminate()
            throw ServeFailure(description: "serve did not start:\n\(Self.read(logPath))")
        }
        port = found
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: logPath)
    }

    /// The port of a "serving HTTP on HOST:PORT" log line (plain or JSON), nil for another line.
    private static func port(inServingLine line: Substring) -> Int? {
        guard let range = line.range(of: "serving HTTP on ") else { return nil }
        let address = line[range.upperBound...].prefix { $0 != "\"" && $0 != " " }
        return address.split(separator: ":").last.flatMap { Int($0) }
    }

    /// Everything the host logged so far.
    var log: String { Self.read(logPath) }

    private static func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    /// `GET path` on a new connection: the status code and the body (nil status on a connection failure).
    func get(_ path: String) -> (status: Int?, body: String) {
        send("GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    }

    /// Sends a raw request; parses the status line and body.
    func send(_ request: String) -> (status: Int?, body: String) {
        guard let reply = try? RawHTTP.send(request, port: port) else { return (nil, "") }
        let status = reply.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) }
        let body = reply.range(of: "\r\n\r\n").map { String(reply[$0.upperBound...]) } ?? ""
        return (status, body)
    }

    /// Sends SIGHUP.
    func hangUp() {
        kill(process.processIdentifier, SIGHUP)
    }

    /// The last reload report the host wrote next to its pid file.
    var lastReload: [String: Any]? {
        guard let data = FileManager.default.contents(atPath: pidFile + ".reload") else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    /// Waits for a reload report that began at or after `time` (ns since the epoch).
    func reload(startedAfter time: UInt64, timeout: TimeInterval = 20) -> [String: Any]? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let report = lastReload, let started = (report["started_at_ns"] as? NSNumber)?.uint64Value, started >= time {
                return report
            }
            usleep(2_000)
        }
        return nil
    }

    /// Sends SIGTERM and waits for the exit status.
    func stop() -> Int32 {
        process.terminate()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// The clock reload reports are stamped with.
    static func now() -> UInt64 { WallClock.nanoseconds() }
}

struct ServeFailure: Error, CustomStringConvertible {
    let description: String
}
