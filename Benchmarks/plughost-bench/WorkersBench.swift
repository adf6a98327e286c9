import Foundation
import PluginTestSupport

/// Containment's costs, measured on the release `plughost serve`: HTTP req/s with
/// 1 and 2 worker processes against the in-process host (`--workers 0`), and
/// what one crash costs (requests lost, time until a replacement serves).
enum WorkersBench {
    /// `plughost serve` on a free port over a folder with the endpoints and crashing fixtures.
    final class Server {
        let process = Process()
        let port: Int
        private let folder: String

        init(plughost: String, fixtures: String, workers: Int) throws {
            folder = NSTemporaryDirectory() + "plughost-bench-serve-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            for (alias, library, symbol) in [("ep", "libhttp_fixture.so", "http_endpoints_entry"), ("crashy", "crashy/a/libcrashy.so", "crashy_entry")] {
                let name = (library as NSString).lastPathComponent
                try FileManager.default.copyItem(atPath: fixtures + "/" + library, toPath: folder + "/" + name)
                let manifest = "[plugin]\nname = \"\(alias)\"\nversion = \"1.0.0\"\n[entry-points.\"plughost.plugins\"]\n\(alias) = \"\(name):\(symbol)\"\n"
                try manifest.write(toFile: folder + "/\(alias).toml", atomically: true, encoding: .utf8)
            }
            let config = folder + ".toml"
            // The figures are about recovering from crashes, not quarantine: a high crash limit,
            // and a journal of this run's own (in its folder, not beside the pid file in /tmp).
            try "[host]\nenabled = [\"ep\", \"crashy\"]\ncrash-limit = 1000\nstate-dir = \"\(folder)\"\n"
                .write(toFile: config, atomically: true, encoding: .utf8)
            let log = folder + ".log"
            FileManager.default.createFile(atPath: log, contents: nil)
            process.executableURL = URL(fileURLWithPath: plughost)
            process.arguments = ["serve", "--plugins", folder, "--config", config, "--port", "0", "--workers", String(workers),
                                 "--pid-file", folder + ".pid", "--log-level", "warning"]
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            try process.run()
            var found: Int?
            let deadline = Date().addingTimeInterval(20)
            while found == nil && Date() < deadline {
                // `plughost serve` logs the port at info level; ask the socket owner instead.
                found = Self.listeningPort(of: process.processIdentifier)
                if found == nil { usleep(20_000) }
            }
            guard let found else { throw BenchError("plughost serve did not start") }
            port = found
            // Until the workers serve.
            while Self.get(port: found, path: "/crash/ok") != 200 && Date() < deadline { usleep(20_000) }
        }

        deinit {
            process.terminate()
            process.waitUntilExit()
            for path in [folder, folder + ".toml", folder + ".log", folder + ".pid", folder + ".pid.reload"] { try? FileManager.default.removeItem(atPath: path) }
            try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "crashes.journal")
        }

        /// The TCP port a listening socket of `pid` is bound to (from /proc).
        static func listeningPort(of pid: Int32) -> Int? {
            guard let links = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") else { return nil }
            let inodes = Set(links.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)") }
                .filter { $0.hasPrefix("socket:[") }.map { String($0.dropFirst(8).dropLast()) })
            guard let table = try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8) else { return nil }
            for line in table.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                // local_address, state 0A = LISTEN, inode at index 9.
                guard fields.count > 9, fields[3] == "0A", inodes.contains(String(fields[9])) else { continue }
                return Int(fields[1].split(separator: ":").last ?? "", radix: 16)
            }
            return nil
        }

        /// The status of `GET path` on a new connection, nil when the connection failed.
        static func get(port: Int, path: String) -> Int? {
            guard let fd = try? RawHTTP.connect(port: port) else { return nil }
            defer { close(fd) }
            guard let reply = try? RawHTTP.exchange(fd: fd, "GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
                  reply.utf8.count > 12 else { return nil }
            return Int(reply.dropFirst(9).prefix(3))
        }
    }

    static func run(plughost: String, fixtures: String, seconds: Int, rounds: Int) throws -> [Figure] {
        guard FileManager.default.isExecutableFile(atPath: plughost) else {
            print("\(plughost) not built: worker figures skipped (make bench builds it)")
            return []
        }
        var figures: [Figure] = []
        let inProcess = try Server(plughost: plughost, fixtures: fixtures, workers: 0)
        let one = try Server(plughost: plughost, fixtures: fixtures, workers: 1)
        let two = try Server(plughost: plughost, fixtures: fixtures, workers: 2)
        var rates: [String: [Double]] = [:]
        let servers = [("0", inProcess.port), ("1", one.port), ("2", two.port)]
        for round in 0..<rounds {
            for (name, port) in servers[(round % 3)...] + servers[..<(round % 3)] {
                rates[name, default: []].append(try HTTPBench.wrk(port: port, seconds: seconds).requestsPerSecond)
            }
        }
        let base = HTTPBench.median(rates["0"]!)
        for name in ["1", "2"] {
            let ratio = HTTPBench.median(zip(rates[name]!, rates["0"]!).map { $0 / $1 })
            figures.append(Figure(name: "HTTP requests/s with --workers \(name) (vs --workers 0, in-process; median of \(rounds) interleaved rounds)",
                                  value: base * ratio, baseline: base, unit: "req/s", target: "—", met: true,
                                  spread: .of(zip(rates[name]!, rates["0"]!).map { $0 / $1 }, ratio: true)))
        }
        figures.append(try scrapeLatency(plughost: plughost, fixtures: fixtures, inProcess: inProcess.port))
        for workers in [1, 2] {
            let server = workers == 1 ? one : two
            let (lost, lostPerCrash, recovery) = crashCost(port: server.port)
            figures.append(Figure(name: "requests of another plugin lost per crash, --workers \(workers) (one client in a loop; median of 5 crashes)",
                                  value: lost, baseline: nil, unit: "", target: "—", met: true, spread: .of(lostPerCrash, ratio: false)))
            let what = workers == 1 ? "first crash to the replacement worker serving" : "first crash to the crashed plugin answering again (the other worker serves it)"
            figures.append(Figure(name: "\(what), --workers \(workers) (later crashes wait out the restart backoff)",
                                  value: recovery, baseline: nil, unit: "ms", target: "—", met: true))
        }
        return figures
    }

    /// `GET /_plughost/metrics` with 8 workers (the answering worker asks the supervisor, which
    /// collects and sums every worker's figures) against the in-process host's, median of 200 each.
    private static func scrapeLatency(plughost: String, fixtures: String, inProcess: Int) throws -> Figure {
        let eight = try Server(plughost: plughost, fixtures: fixtures, workers: 8)
        // Until all eight serve (each answers /crash/ok once its plugins run).
        usleep(500_000)
        func samples(_ port: Int) -> [Double] {
            var samples: [Double] = []
            for _ in 0..<200 {
                let start = ContinuousClock.now
                guard Server.get(port: port, path: "/_plughost/metrics") == 200 else { continue }
                samples.append((ContinuousClock.now - start).nanoseconds / 1e6)
            }
            return samples
        }
        _ = samples(eight.port)
        let withWorkers = samples(eight.port)
        let alone = samples(inProcess)
        return Figure(name: "scrape of /_plughost/metrics with 8 workers, the whole host's figures (vs --workers 0; median of 200)",
                      value: HTTPBench.median(withWorkers), baseline: HTTPBench.median(alone), unit: "ms", target: "—", met: true,
                      spread: .of(withWorkers, ratio: false))
    }

    /// Crashes the plugin 5 times under a client loop on another plugin's endpoint:
    /// the median requests lost per crash, and the time until `/crash/ok` answered again after
    /// the first (the replacements of later ones wait 100 ms, 200 ms, … by design).
    private static func crashCost(port: Int) -> (lost: Double, lostPerCrash: [Double], recoveryMilliseconds: Double) {
        let running = ManagedAtomicFlag()
        let failures = ManagedCounter()
        let client = Thread {
            while running.isSet {
                if Server.get(port: port, path: "/t/add/1/2") != 200 { failures.increment() }
            }
        }
        client.start()
        var lost: [Double] = []
        var recovery: [Double] = []
        for _ in 0..<5 {
            let before = failures.value
            let start = ContinuousClock.now
            _ = Server.get(port: port, path: "/crash/segv")
            while Server.get(port: port, path: "/crash/ok") != 200 && ContinuousClock.now - start < .seconds(10) { usleep(1_000) }
            recovery.append((ContinuousClock.now - start).nanoseconds / 1e6)
            usleep(200_000)
            lost.append(Double(failures.value - before))
        }
        running.clear()
        while !client.isFinished { usleep(1_000) }
        return (HTTPBench.median(lost), lost, recovery[0])
    }
}

/// A flag a thread polls (Foundation-only: the bench target does not import Synchronization elsewhere).
final class ManagedAtomicFlag: @unchecked Sendable {
    // @unchecked Sendable: guarded by `lock`.
    private let lock = NSLock()
    private var set = true
    var isSet: Bool { lock.withLock { set } }
    func clear() { lock.withLock { set = false } }
}

/// A counter shared with a client thread.
final class ManagedCounter: @unchecked Sendable {
    // @unchecked Sendable: guarded by `lock`.
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func increment() { lock.withLock { count += 1 } }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// This executable's path.
enum Supervisor {
    static var executable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
