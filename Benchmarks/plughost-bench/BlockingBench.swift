import Foundation
import Logging
import PluginHTTP
import PluginRuntime
import PluginHTTPExtension

/// The blocking-safe request path (see PluginCallPool): what handing a request to
/// the pool costs against calling the plugin inline, and what it buys: a fast
/// endpoint's rate while 64 requests sleep 20 ms in another plugin.
enum BlockingBench {
    /// - Parameter examples: The example plugins folder (the deferred load is the `later` example's).
    static func run(fixtures: String, examples: String, seconds: Int, rounds: Int, logger: Logger) async throws -> [Figure] {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/wrk") else {
            print("wrk not found: blocking-path figures skipped (make bench installs it)")
            return []
        }
        var config = HostConfig()
        config.pluginThreads = 64
        config.pluginConcurrency = 32
        let pool = PluginCallPool(limits: PluginCallPool.Limits(config), logger: logger)
        defer { pool.shutdown() }
        return try await callCost(fixtures: fixtures, pool: pool, seconds: seconds, rounds: rounds, logger: logger)
            + slowLoad(fixtures: fixtures, examples: examples, pool: pool, seconds: seconds, rounds: rounds, logger: logger)
            + deferredRoundTrip(fixtures: fixtures, logger: logger)
    }

    /// One deferred round trip (the handler answers PH_PENDING and resumes at once) against the
    /// same answer given synchronously, through the endpoint table, no thread switch in either.
    private static func deferredRoundTrip(fixtures: String, logger: Logger) throws -> [Figure] {
        let folder = try BenchFolder(fixtures: fixtures)
        try folder.add(alias: "deferred", library: "deferred/a/libdeferred.so", symbol: "deferred_entry")
        let runtime = PluginRuntime(pluginsDirectory: folder.path, config: HostConfig(enabled: ["deferred"]), servesHTTP: true, logger: logger)
        try runtime.start()
        defer { runtime.shutdown() }
        let generation = runtime.generation!
        let deferred = PluginHTTPRequest(method: "GET", path: "/d/now")
        let sync = PluginHTTPRequest(method: "GET", path: "/d/sync")
        precondition(generation.handle(deferred).body == Array("now".utf8) && generation.handle(sync).body == Array("now".utf8))
        let iterations = 200_000
        func perRequest(_ request: PluginHTTPRequest) -> Double {
            var samples: [Double] = []
            for _ in 0..<7 {
                let start = ContinuousClock.now
                for _ in 0..<iterations { _ = generation.handle(request) }
                samples.append((ContinuousClock.now - start).nanoseconds / Double(iterations))
            }
            return HTTPBench.median(samples)
        }
        let deferredCost = perRequest(deferred)
        let syncCost = perRequest(sync)
        return [Figure(name: "one deferred round trip (PH_PENDING, resume at once) through the endpoint table (vs the same answer synchronously)",
                       value: deferredCost, baseline: syncCost, unit: "ns", target: "—", met: true)]
    }

    /// The same typed endpoint (a plugin that does not declare it never blocks) served inline and through the pool.
    private static func callCost(fixtures: String, pool: PluginCallPool, seconds: Int, rounds: Int, logger: Logger) async throws -> [Figure] {
        let folder = try BenchFolder(fixtures: fixtures)
        let runtime = try folder.endpointsRuntime(wrappers: 0, logger: logger)
        defer { runtime.shutdown() }
        var inline: [Double] = []
        var pooled: [Double] = []
        try await HTTPBench.withRunning({ PluginHTTPServer.makeApplication(runtime: runtime, port: 0, logger: logger, onServerRunning: $0) }) { inlinePort in
            try await HTTPBench.withRunning({ PluginHTTPServer.makeApplication(runtime: runtime, port: 0, calls: pool, logger: logger, onServerRunning: $0) }) { poolPort in
                for round in 0..<rounds {
                    let order = round.isMultiple(of: 2) ? [(true, inlinePort), (false, poolPort)] : [(false, poolPort), (true, inlinePort)]
                    for (isInline, port) in order {
                        let rate = try HTTPBench.wrk(port: port, seconds: seconds).requestsPerSecond
                        if isInline { inline.append(rate) } else { pooled.append(rate) }
                    }
                }
            }
        }
        let ratio = HTTPBench.median(zip(pooled, inline).map { $0 / $1 })
        let inlineRate = HTTPBench.median(inline)
        // Per request of throughput on this machine: 1/rate(pool) − 1/rate(inline).
        let cost = (1 / (inlineRate * ratio) - 1 / inlineRate) * 1_000_000
        return [
            Figure(name: "HTTP requests/s, typed endpoint through the blocking pool (vs the same endpoint called inline; median of \(rounds) interleaved rounds)",
                   value: inlineRate * ratio, baseline: inlineRate, unit: "req/s", target: "—", met: true),
            Figure(name: "cost of the blocking-safe call path per request (hand-off to a pool thread and back, 2 cores shared with wrk)",
                   value: cost, baseline: nil, unit: "µs", target: "—", met: true),
        ]
    }

    /// `GET /version` (another plugin) alone, then while wrk keeps 64 requests in a 20 ms endpoint; inline and pooled.
    /// Alone and loaded alternate for `rounds` rounds (one for the inline variant, which only shows the collapse):
    /// the figure is the median of the rounds' ratios, as for the other HTTP figures.
    private static func slowLoad(fixtures: String, examples: String, pool: PluginCallPool, seconds: Int, rounds: Int,
                                 logger: Logger) async throws -> [Figure] {
        let folder = try BenchFolder(fixtures: fixtures)
        try folder.add(alias: "crashy", library: "crashy/a/libcrashy.so", symbol: "crashy_entry")
        try folder.add(alias: "versioned", library: "versioned/v1/libversioned.so", symbol: "versioned_entry")
        try folder.add(alias: "later", libraryAt: examples + "/later/liblater.so", symbol: "later_entry")
        let runtime = PluginRuntime(pluginsDirectory: folder.path, config: HostConfig(enabled: ["crashy", "versioned", "later"]),
                                    servesHTTP: true, logger: logger)
        try runtime.start()
        defer { runtime.shutdown() }
        var figures: [Figure] = []
        let variants: [(String, PluginCallPool?, String)] = [
            ("sleeping inline on the serving threads", nil, "/crash/sleep"),
            ("sleeping on the blocking pool", pool, "/crash/sleep"),
            ("deferred (the later example: PH_PENDING, resumed by its timer thread; no host thread held)", pool, "/later?ms=20"),
        ]
        for (label, calls, slowPath) in variants {
            try await HTTPBench.withRunning({ PluginHTTPServer.makeApplication(runtime: runtime, port: 0, calls: calls, logger: logger, onServerRunning: $0) }) { port in
                var alone: [Double] = []
                var loaded: [Double] = []
                for _ in 0..<(calls == nil ? 1 : rounds) {
                    alone.append(try HTTPBench.wrk(port: port, seconds: seconds, path: "/version", connections: 4).requestsPerSecond)
                    let slow = Process()
                    slow.executableURL = URL(fileURLWithPath: "/usr/bin/wrk")
                    slow.arguments = ["-t1", "-c64", "-d\(seconds + 4)s", "http://127.0.0.1:\(port)\(slowPath)"]
                    slow.standardOutput = FileHandle.nullDevice
                    try slow.run()
                    try await Task.sleep(for: .seconds(1))
                    loaded.append((try? HTTPBench.wrk(port: port, seconds: seconds, path: "/version", connections: 4).requestsPerSecond) ?? 0)
                    slow.terminate()
                    slow.waitUntilExit()
                }
                let ratio = HTTPBench.median(zip(loaded, alone).map { $0 / $1 })
                let aloneRate = HTTPBench.median(alone)
                let spread = zip(loaded, alone).map { $0 / $1 }
                let range = alone.count > 1 ? String(format: "; rounds %.2f–%.2f×", spread.min()!, spread.max()!) : ""
                figures.append(Figure(name: "fast endpoint req/s while 64 requests wait 20 ms in another plugin, \(label) (vs the fast endpoint alone; median of \(alone.count) round(s)\(range))",
                                      value: aloneRate * ratio, baseline: aloneRate, unit: "req/s",
                                      target: calls == nil ? "—" : "≥ 0.90×", met: calls == nil || ratio >= 0.9))
            }
        }
        return figures
    }
}
