import CProcessControl
import Foundation
import Hummingbird
import Logging

/// The HTTP engine against its limit: `plughost serve --workers 0` with only the
/// calc example, nginx answering `return 200 "5"` (no module code at all), and a
/// bare Hummingbird route, each a process of its own pinned to the host's core(s),
/// wrk (1 thread, 64 connections) pinned to the other core(s), `GET /calc/add/2/3`,
/// in interleaved rounds.
enum EngineBench {
    /// One server process under test.
    final class PinnedServer {
        let name: String
        let port: Int
        let process: Process
        private let cleanup: [String]

        init(name: String, port: Int, arguments: [String], placement: CorePlacement, log: String, cleanup: [String] = []) throws {
            self.name = name
            self.port = port
            self.cleanup = cleanup
            process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
            process.arguments = ["-c", placement.host.map(String.init).joined(separator: ",")] + arguments
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            process.standardError = process.standardOutput
            try process.run()
            let deadline = Date().addingTimeInterval(20)
            while WorkersBench.Server.get(port: port, path: "/calc/add/2/3") != 200 {
                guard Date() < deadline, process.isRunning else { throw BenchError("\(name) did not answer GET /calc/add/2/3") }
                usleep(20_000)
            }
        }

        /// The pid whose threads serve (nginx's master forks its worker: the worker's).
        var servingPID: Int32 {
            let children = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/task/\(process.processIdentifier)/children", encoding: .utf8)) ?? ""
            // taskset execs in place: the process is the server itself; nginx's worker is its only child.
            return children.split(separator: " ").first.flatMap { Int32($0) } ?? process.processIdentifier
        }

        deinit {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
            for path in cleanup { try? FileManager.default.removeItem(atPath: path) }
        }
    }

    /// A TCP port nothing listens on now (the kernel's pick for port 0).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw BenchError("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func run(plughost: String, examples: String, seconds: Int, rounds: Int) throws -> (figures: [Figure], profile: String?) {
        guard let placement = CorePlacement.split() else {
            print("one core: the engine figures need a core for the server and one for wrk; skipped")
            return ([], nil)
        }
        let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let nginx else {
            print("nginx not found: engine figures skipped (make bench installs it)")
            return ([], nil)
        }
        let folder = NSTemporaryDirectory() + "plughost-bench-engine-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }

        let nginxPort = try freePort()
        let nginxConfig = """
            worker_processes 1;
            daemon off;
            pid \(folder)/nginx.pid;
            error_log \(folder)/nginx-error.log;
            events { worker_connections 1024; }
            http {
                access_log off;
                client_body_temp_path \(folder)/body; proxy_temp_path \(folder)/proxy; fastcgi_temp_path \(folder)/fastcgi;
                uwsgi_temp_path \(folder)/uwsgi; scgi_temp_path \(folder)/scgi;
                server { listen 127.0.0.1:\(nginxPort); location / { return 200 "5"; } }
            }

            """
        try nginxConfig.write(toFile: folder + "/nginx.conf", atomically: true, encoding: .utf8)
        let plughostConfig = "[host]\nnamespaces = [\"plughost.plugins\"]\nenabled = [\"calc\"]\nstate-dir = \"\(folder)\"\n"
        try plughostConfig.write(toFile: folder + "/calc.toml", atomically: true, encoding: .utf8)

        // POST /calc/stats: a JSON body checked against its schema, a JSON result checked against its own.
        let statsScript = folder + "/stats.lua"
        try #"wrk.method = "POST"; wrk.body = '{"values":[1,2,3,4,5,6,7,8]}'; wrk.headers["Content-Type"] = "application/json""#
            .write(toFile: statsScript, atomically: true, encoding: .utf8)

        let plughostPort = try freePort()
        let barePort = try freePort()
        let servers = [
            try PinnedServer(name: "nginx", port: nginxPort, arguments: [nginx, "-c", folder + "/nginx.conf"], placement: placement,
                              log: folder + "/nginx.log"),
            try PinnedServer(name: "plughost", port: plughostPort, arguments: [
                plughost, "serve", "--plugins", examples, "--config", folder + "/calc.toml", "--port", String(plughostPort),
                "--workers", "0", "--pid-file", folder + "/plughost.pid", "--log-level", "warning",
            ], placement: placement, log: folder + "/plughost.log"),
            try PinnedServer(name: "bare", port: barePort, arguments: [Supervisor.executable, "--serve-bare", String(barePort)],
                             placement: placement, log: folder + "/bare.log"),
        ]
        var loads: [String: [HTTPBench.Load]] = [:]
        for round in 0..<rounds {
            for server in servers[(round % 3)...] + servers[..<(round % 3)] {
                guard server.process.isRunning else {
                    throw BenchError("\(server.name) ended (\(server.process.terminationReason == .uncaughtSignal ? "signal" : "exit") \(server.process.terminationStatus))")
                }
                loads[server.name, default: []].append(
                    try HTTPBench.wrk(port: server.port, seconds: seconds, path: "/calc/add/2/3", connections: 64, placement: placement))
                if server.name == "plughost" {
                    loads["plughost-json", default: []].append(try HTTPBench.wrk(
                        port: server.port, seconds: seconds, path: "/calc/stats", connections: 64, placement: placement, script: statsScript))
                }
            }
        }
        let pinning = "server on core(s) \(placement.host.map(String.init).joined(separator: ",")), wrk -t1 -c64 on \(placement.load.map(String.init).joined(separator: ","))"
        var figures: [Figure] = []
        let host = loads["plughost"]!
        for (baseline, label, target, goal) in [
            ("nginx", "against nginx `return 200 \"5\"` (no module code)", "≥ 0.5× (stretch 0.7×)", 0.5),
            ("bare", "against a bare Hummingbird route", "—", 0),
        ] {
            let other = loads[baseline]!
            let ratios = zip(host, other).map { $0.requestsPerSecond / $1.requestsPerSecond }
            let ratio = HTTPBench.median(ratios)
            let otherRate = HTTPBench.median(other.map(\.requestsPerSecond))
            figures.append(Figure(name: "HTTP requests/s \(label): GET /calc/add/2/3, plughost serve --workers 0 with calc only; \(pinning); median of \(rounds) interleaved rounds",
                                  value: otherRate * ratio, baseline: otherRate, unit: "req/s", target: target, met: ratio >= goal,
                                  spread: .of(ratios, ratio: true)))
        }
        let json = loads["plughost-json"]!
        let jsonRatios = zip(json, host).map { $0.requestsPerSecond / $1.requestsPerSecond }
        let jsonRatio = HTTPBench.median(jsonRatios)
        let scalarRate = HTTPBench.median(host.map(\.requestsPerSecond))
        figures.append(Figure(name: "HTTP requests/s of a JSON typed endpoint (POST /calc/stats, 8 numbers: body checked against its schema, result against its own) against a scalar one (GET /calc/add/2/3), same server; \(pinning); median of \(rounds) rounds",
                              value: scalarRate * jsonRatio, baseline: scalarRate, unit: "req/s", target: "—", met: true,
                              spread: .of(jsonRatios, ratio: true)))
        for (percentile, values) in [("p50", \HTTPBench.Load.p50), ("p99", \HTTPBench.Load.p99)] {
            for baseline in ["nginx", "bare"] {
                let mine = host.map { $0[keyPath: values] }
                let theirs = loads[baseline]!.map { $0[keyPath: values] }
                figures.append(Figure(name: "HTTP \(percentile) latency at 64 connections, plughost vs \(baseline == "nginx" ? "nginx" : "the bare Hummingbird route")",
                                      value: HTTPBench.median(mine), baseline: HTTPBench.median(theirs), unit: "µs", target: "—", met: true,
                                      spread: .of(mine, ratio: false)))
            }
        }
        // The servers live until the profile's load is over (their deinit stops them).
        let profile = withExtendedLifetime(servers) {
            Profile.record(pid: servers[1].servingPID, seconds: seconds) {
                _ = try? HTTPBench.wrk(port: plughostPort, seconds: seconds + 2, path: "/calc/add/2/3", connections: 64, placement: placement)
            }
        }
        return (figures, profile)
    }

    /// Serves `GET /calc/add/:a/:b` with a bare Hummingbird router on `port` until killed
    /// (`plughost-bench --serve-bare PORT`: the baseline process of ``run(plughost:examples:seconds:rounds:)``).
    static func serveBare(port: Int) async throws {
        let router = Router()
        router.get("/calc/add/:a/:b") { _, context -> String in
            guard let a = context.parameters.get("a", as: Int64.self), let b = context.parameters.get("b", as: Int64.self) else {
                throw HTTPError(.badRequest)
            }
            return String(a + b)
        }
        var logger = Logger(label: "bare")
        logger.logLevel = .error
        try await Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
            .runService(gracefulShutdownSignals: [])  // SIGTERM ends the process (its default action)
    }
}

/// A CPU profile of a process under load, with `perf` when the machine lets it.
enum Profile {
    /// The top entries (by shared object, then by symbol, self time) of `pid` while `load` runs;
    /// nil when perf is missing or not permitted here.
    static func record(pid: Int32, seconds: Int, during load: @escaping @Sendable () -> Void) -> String? {
        guard let perf = ["/usr/bin/perf", "/usr/local/bin/perf"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            print("perf not found: no profile (make bench installs linux-perf)")
            return nil
        }
        let data = NSTemporaryDirectory() + "plughost-bench-perf-\(pid).data"
        defer { try? FileManager.default.removeItem(atPath: data) }
        let loadThread = Thread { load() }
        loadThread.start()
        sleep(1)
        guard run(perf, ["record", "-F", "1999", "-g", "-p", String(pid), "-o", data, "--", "sleep", String(seconds)]) != nil else { return nil }
        sleep(2)
        guard let objects = run(perf, ["report", "-i", data, "--no-children", "--sort", "dso", "-g", "none", "--percent-limit", "1"]),
              let symbols = run(perf, ["report", "-i", data, "--no-children", "--sort", "symbol", "-g", "none", "--percent-limit", "0.7"])
        else { return nil }
        func rows(_ report: String, limit: Int) -> String {
            report.split(separator: "\n").filter { !$0.hasPrefix("#") && $0.contains("%") }.prefix(limit)
                .map { "    " + String($0.trimmingCharacters(in: .whitespaces).prefix(150)).trimmingCharacters(in: .whitespaces) }
                .joined(separator: "\n")
        }
        return "By shared object:\n\n" + rows(objects, limit: 8) + "\n\nBy symbol (self time):\n\n" + rows(symbols, limit: 20)
    }

    /// Runs `tool` with `arguments`; its standard output when it exits with 0, else nil.
    ///
    /// Spawned with an empty signal mask (`ph_spawn_captured`): Foundation's `Process` hands a
    /// child the mask of the thread that starts it, and an async caller's thread blocks nearly
    /// every signal, so `perf record -- sleep N` never saw its workload end (seen: it waited
    /// for ever on a zombie `sleep`).
    private static func run(_ tool: String, _ arguments: [String]) -> String? {
        var output: Int32 = -1
        var errors: Int32 = -1
        let argv = ([tool] + arguments).map { strdup($0) } + [nil]
        let envp = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        let pid = ph_spawn_captured(tool, argv, envp, &output, &errors)
        guard pid > 0 else { return nil }
        func readAll(_ descriptor: Int32) -> [UInt8] {
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = read(descriptor, &chunk, chunk.count)
                if count > 0 { bytes += chunk[..<count]; continue }
                if count < 0 && errno == EINTR { continue }
                return bytes
            }
        }
        // Its error output (perf's few progress lines) is read after the output, then dropped.
        let bytes = readAll(output)
        _ = readAll(errors)
        close(output)
        close(errors)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // Exited (low 7 bits 0) with status 0.
        return status & 0x7f == 0 && (status >> 8) & 0xff == 0 ? String(decoding: bytes, as: UTF8.self) : nil
    }
}

extension Profile {
    /// The same profile of the engine before the event-loop serving path (commit 0ece8c7),
    /// measured once and kept as text beside this file: the "before" of BENCHMARKS.md.
    static var before: String {
        (try? String(contentsOfFile: "Benchmarks/engine-profile-before.md", encoding: .utf8))
            ?? "Not found: Benchmarks/engine-profile-before.md (make bench runs from the repository's root)."
    }
}
