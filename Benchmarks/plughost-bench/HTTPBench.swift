import Foundation
import Hummingbird
import Logging
import PluginHTTP
import PluginRuntime
import PluginHTTPExtension

/// Requests per second and latency on loopback, measured with wrk: a bare
/// Hummingbird route, the host with a plugin endpoint, and with 3 wrappers.
enum HTTPBench {
    struct Load {
        let requestsPerSecond: Double
        let p50: Double
        let p99: Double
    }

    /// The middle value (the mean of the two middle ones for an even count).
    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// - Parameter metrics: The bootstrapped Prometheus figures: a fourth server counts every request into them.
    static func run(fixtures: String, seconds: Int, rounds: Int = 5, metrics: HostMetrics, logger: Logger) async throws -> [Figure] {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/wrk") else {
            print("wrk not found: HTTP figures skipped (make bench installs it)")
            return []
        }
        let bareRouter = Router()
        bareRouter.get("/t/add/:a/:b") { _, context -> String in
            guard let a = context.parameters.get("a", as: Int64.self), let b = context.parameters.get("b", as: Int64.self) else {
                throw HTTPError(.badRequest)
            }
            return String(a + b)
        }

        let folder0 = try BenchFolder(fixtures: fixtures)
        let runtime0 = try folder0.endpointsRuntime(wrappers: 0, logger: logger)
        let folder3 = try BenchFolder(fixtures: fixtures)
        let runtime3 = try folder3.endpointsRuntime(wrappers: 3, logger: logger)
        defer {
            runtime0.shutdown()
            runtime3.shutdown()
        }

        var loads: [String: [Load]] = [:]
        let bare = { (report: @escaping @Sendable (Int) async -> Void) in
            Application(router: bareRouter, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                        onServerRunning: { await report($0.localAddress?.port ?? 0) }, logger: logger)
        }
        try await withRunning(bare) { barePort in
            try await withRunning({ PluginHTTPServer.makeApplication(runtime: runtime0, port: 0, logger: logger, onServerRunning: $0) }) { port0 in
                try await withRunning({ PluginHTTPServer.makeApplication(runtime: runtime3, port: 0, logger: logger, onServerRunning: $0) }) { port3 in
                    try await withRunning({
                        PluginHTTPServer.makeApplication(runtime: runtime3, port: 0, metrics: metrics, logger: logger, onServerRunning: $0)
                    }) { port3m in
                        // Interleaved rounds: each round measures every server back to back, so
                        // a slow moment of the machine hits every figure of that round alike.
                        // Each round starts with another server, so none is always measured first or last.
                        let servers = [("bare", barePort), ("host0", port0), ("host3", port3), ("host3m", port3m)]
                        for round in 0..<rounds {
                            for (name, port) in servers[(round % 4)...] + servers[..<(round % 4)] {
                                loads[name, default: []].append(try wrk(port: port, seconds: seconds))
                            }
                        }
                    }
                }
            }
        }
        let bareLoads = loads["bare"]!
        var figures: [Figure] = []
        for (name, label) in [("host0", "plugin endpoint, 0 wrappers"), ("host3", "plugin endpoint, 3 wrappers")] {
            let host = loads[name]!
            // The ratio is the median of the per-round ratios; the figures shown are the
            // medians of each side, scaled so that value / baseline is that ratio.
            let ratio = median(zip(host, bareLoads).map { $0.requestsPerSecond / $1.requestsPerSecond })
            let bareRate = median(bareLoads.map(\.requestsPerSecond))
            figures.append(Figure(name: "HTTP requests/s, \(label) (vs bare Hummingbird route; median of \(rounds) interleaved rounds)",
                                  value: bareRate * ratio, baseline: bareRate, unit: "req/s",
                                  target: name == "host3" ? "≥ 0.95×" : "—", met: name != "host3" || ratio >= 0.95,
                                  spread: .of(zip(host, bareLoads).map { $0.requestsPerSecond / $1.requestsPerSecond }, ratio: true)))
            figures.append(Figure(name: "HTTP p50 latency, \(label)", value: median(host.map(\.p50)), baseline: median(bareLoads.map(\.p50)),
                                  unit: "µs", target: "—", met: true, spread: .of(host.map(\.p50), ratio: false)))
            figures.append(Figure(name: "HTTP p99 latency, \(label)", value: median(host.map(\.p99)), baseline: median(bareLoads.map(\.p99)),
                                  unit: "µs", target: "—", met: true, spread: .of(host.map(\.p99), ratio: false)))
        }
        // Metrics: the same runtime and route, each request counted and timed (plughost serve's default).
        let counted = loads["host3m"]!, uncounted = loads["host3"]!
        let metricsRatio = median(zip(counted, uncounted).map { $0.requestsPerSecond / $1.requestsPerSecond })
        let uncountedRate = median(uncounted.map(\.requestsPerSecond))
        figures.append(Figure(name: "HTTP requests/s, 3 wrappers, with metrics (per-route counters and latency histogram; vs without; median of \(rounds) interleaved rounds)",
                              value: uncountedRate * metricsRatio, baseline: uncountedRate, unit: "req/s",
                              target: "≥ 0.98×", met: metricsRatio >= 0.98,
                              spread: .of(zip(counted, uncounted).map { $0.requestsPerSecond / $1.requestsPerSecond }, ratio: true)))
        return figures
    }

    /// Runs the application `make` builds in the background until `body` returns, passing its port.
    static func withRunning<App: ApplicationProtocol>(
        _ make: (@escaping @Sendable (Int) async -> Void) -> App, _ body: (Int) async throws -> Void
    ) async throws {
        let ready = AsyncStream<Int>.makeStream()
        let application = make { port in ready.continuation.yield(port) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await application.runService(gracefulShutdownSignals: []) }
            var iterator = ready.stream.makeAsyncIterator()
            guard let port = await iterator.next() else { return }
            try await body(port)
            group.cancelAll()
        }
    }

    /// Runs wrk against `path` (default `/t/add/40/2`) on `port` with `connections` connections
    /// (on the load generators' cores of `placement`, when given).
    static func wrk(port: Int, seconds: Int, path: String = "/t/add/40/2", connections: Int = 32,
                    placement: CorePlacement? = nil, script: String? = nil) throws -> Load {
        let process = wrkProcess(["-t1", "-c\(connections)", "-d\(seconds)s", "--latency"] + (script.map { ["-s", $0] } ?? [])
                                 + ["http://127.0.0.1:\(port)\(path)"], placement: placement)
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return load(fromOutput: output)
    }

    /// A wrk process with `arguments`, through `taskset` onto the load generators' cores when `placement` is given.
    static func wrkProcess(_ arguments: [String], placement: CorePlacement?) -> Process {
        let process = Process()
        if let placement {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
            process.arguments = placement.loadArguments + ["/usr/bin/wrk"] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/wrk")
            process.arguments = arguments
        }
        return process
    }

    /// The rate and latencies wrk printed (a wrk that failed or saw non-2xx answers stops the bench).
    static func load(fromOutput output: String) -> Load {
        func number(after label: String) -> Double? {
            guard let line = output.split(separator: "\n").first(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix(label) }) else { return nil }
            return line.split(separator: " ").dropFirst().first.map(String.init).flatMap(microseconds)
        }
        guard output.contains("Requests/sec"), !output.contains("Non-2xx") else {
            fatalError("wrk failed or saw errors:\n\(output)")
        }
        return Load(requestsPerSecond: requestsPerSecond(in: output), p50: number(after: "50%") ?? 0, p99: number(after: "99%") ?? 0)
    }

    /// The `Requests/sec:` figure of wrk's output (0 when it printed none).
    static func requestsPerSecond(in output: String) -> Double {
        output.split(separator: "\n").first { $0.hasPrefix("Requests/sec:") }
            .flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
    }

    /// "123.45us", "1.2ms", "2s" in microseconds.
    static func microseconds(_ text: String) -> Double? {
        for (suffix, factor) in [("us", 1.0), ("ms", 1000.0), ("s", 1_000_000.0)] where text.hasSuffix(suffix) {
            return Double(text.dropLast(suffix.count)).map { $0 * factor }
        }
        return nil
    }
}
