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
        // The defaults: 64 threads, 32 calls per plugin.
        let pool = PluginCallPool(limits: PluginCallPool.Limits(HostConfig()), logger: logger)
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
        func perRequest(_ request: PluginHTTPRequest) -> [Double] {
            var samples: [Double] = []
            for _ in 0..<7 {
                let start = ContinuousClock.now
                for _ in 0..<iterations { _ = generation.handle(request) }
                samples.append((ContinuousClock.now - start).nanoseconds / Double(iterations))
            }
            return samples
        }
        let deferredCosts = perRequest(deferred)
        let syncCosts = perRequest(sync)
        return [Figure(name: "one deferred round trip (PH_PENDING, resume at once) through the endpoint table (vs the same answer synchronously)",
                       value: HTTPBench.median(deferredCosts), baseline: HTTPBench.median(syncCosts), unit: "ns", target: "—", met: true,
                       spread: .of(zip(deferredCosts, syncCosts).map { $0 / $1 }, ratio: true))]
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
        let costs = zip(pooled, inline).map { (1 / $0 - 1 / $1) * 1_000_000 }
        return [
            Figure(name: "HTTP requests/s, typed endpoint through the blocking pool (vs the same endpoint called inline; median of \(rounds) interleaved rounds)",
                   value: inlineRate * ratio, baseline: inlineRate, unit: "req/s", target: "—", met: true,
                   spread: .of(zip(pooled, inline).map { $0 / $1 }, ratio: true)),
            // A negative cost (the pool measured faster) is noise larger than the figure: not measured.
            Figure(name: "cost of the blocking-safe call path per request (hand-off to a pool thread and back, 2 cores shared with wrk)",
                   value: cost, baseline: nil, unit: "µs", target: "—", met: cost >= 0, spread: .of(costs, ratio: false), measured: cost >= 0),
        ]
    }

    /// The slow traffic of ``slowLoad``: 64 wrk connections, each with one request in flight.
    private enum SlowTraffic: CaseIterable {
        /// Each request sleeps 20 ms in a plugin's endpoint (crashy's `/crash/sleep`).
        case sleeping
        /// Each request waits 20 ms deferred (the later example: PH_PENDING, resumed by its timer thread).
        case deferred
        /// The control: the same requests answered at once (`/later?ms=0`), each connection
        /// waiting its 20 ms in the client (wrk's `delay`) instead of in the host.
        case paced

        var path: String {
            switch self {
            case .sleeping: "/crash/sleep"
            case .deferred: "/later?ms=20"
            case .paced: "/later?ms=0"
            }
        }
    }

    /// `GET /version` (another plugin) alone and while 64 wrk connections keep a slow request each in flight:
    /// inline on the serving threads (one round: it only shows the collapse), and through the pool, where
    /// each round measures alone, sleeping, deferred and the paced control back to back (in a rotating order),
    /// so that a slow moment of the machine hits every figure of that round alike. The figures are medians
    /// of the rounds' ratios. The host runs on half of the cores and wrk on the other half (``CorePlacement``).
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
        let script = folder.path + "/paced.lua"
        try "function delay()\n  return 20\nend\n".write(toFile: script, atomically: true, encoding: .utf8)
        let placement = CorePlacement.split()
        let placementText = placement.map { "host on core(s) \($0.host.map(String.init).joined(separator: ",")), wrk on \($0.load.map(String.init).joined(separator: ","))" }
            ?? "host and wrk on the one core"

        /// The fast endpoint's rate while `traffic` runs (alone when nil), and the slow traffic's own rate.
        func fastRate(port: Int, while traffic: SlowTraffic?) async throws -> (fast: Double, slow: Double) {
            guard let traffic else {
                return (try HTTPBench.wrk(port: port, seconds: seconds, path: "/version", connections: 4, placement: placement).requestsPerSecond, 0)
            }
            let pacing = traffic == .paced ? ["-s", script] : []
            let slow = HTTPBench.wrkProcess(["-t1", "-c64", "-d\(seconds + 2)s"] + pacing + ["http://127.0.0.1:\(port)\(traffic.path)"],
                                            placement: placement)
            let output = Pipe()
            slow.standardOutput = output
            try slow.run()
            try await Task.sleep(for: .seconds(1))
            let fast = (try? HTTPBench.wrk(port: port, seconds: seconds, path: "/version", connections: 4, placement: placement).requestsPerSecond) ?? 0
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            slow.waitUntilExit()
            return (fast, HTTPBench.requestsPerSecond(in: text))
        }

        func run(_ body: () async throws -> Void) async throws {
            if let placement { try await placement.withHostPinned(body) } else { try await body() }
        }
        var figures: [Figure] = []
        try await run {
            // Inline: the 20 ms sleeps take the serving threads; one round shows it.
            try await HTTPBench.withRunning({ PluginHTTPServer.makeApplication(runtime: runtime, port: 0, logger: logger, onServerRunning: $0) }) { port in
                let alone = try await fastRate(port: port, while: nil).fast
                let loaded = try await fastRate(port: port, while: .sleeping).fast
                figures.append(Figure(name: "fast endpoint req/s while 64 requests wait 20 ms in another plugin, sleeping inline on the serving threads (vs the fast endpoint alone; one round; \(placementText))",
                                      value: loaded, baseline: alone, unit: "req/s", target: "—", met: true))
            }
            try await HTTPBench.withRunning({ PluginHTTPServer.makeApplication(runtime: runtime, port: 0, calls: pool, logger: logger, onServerRunning: $0) }) { port in
                let loads: [SlowTraffic?] = [nil] + SlowTraffic.allCases
                var alone: [Double] = []
                var ratios: [SlowTraffic: [Double]] = [:]
                var slowRates: [SlowTraffic: [Double]] = [:]
                for round in 0..<rounds {
                    var rates: [SlowTraffic?: Double] = [:]
                    for traffic in loads[(round % loads.count)...] + loads[..<(round % loads.count)] {
                        let (fast, slow) = try await fastRate(port: port, while: traffic)
                        rates[traffic] = fast
                        if let traffic { slowRates[traffic, default: []].append(slow) }
                    }
                    alone.append(rates[nil]!)
                    for traffic in SlowTraffic.allCases { ratios[traffic, default: []].append(rates[traffic]! / rates[nil]!) }
                }
                let aloneRate = HTTPBench.median(alone)
                func describe(_ traffic: SlowTraffic) -> (ratio: Double, text: String) {
                    let spread = ratios[traffic]!
                    let ratio = HTTPBench.median(spread)
                    let text = String(format: "median of %d rounds, %.2f–%.2f×; the slow requests at %.0f req/s; ",
                                      rounds, spread.min()!, spread.max()!, HTTPBench.median(slowRates[traffic]!)) + placementText
                    return (ratio, text)
                }
                let sleeping = describe(.sleeping), deferred = describe(.deferred), paced = describe(.paced)
                figures.append(Figure(name: "fast endpoint req/s while 64 requests wait 20 ms in another plugin, sleeping on the blocking pool (32 run, 32 queue: the plugin's bulkhead) (vs the fast endpoint alone; \(sleeping.text))",
                                      value: aloneRate * sleeping.ratio, baseline: aloneRate, unit: "req/s", target: "≥ 0.90×", met: sleeping.ratio >= 0.9,
                                      spread: .of(ratios[.sleeping]!, ratio: true)))
                figures.append(Figure(name: "fast endpoint req/s while 64 requests wait 20 ms in another plugin, deferred (the later example: PH_PENDING, resumed by its timer thread; no host thread held) (vs the fast endpoint alone; \(deferred.text))",
                                      value: aloneRate * deferred.ratio, baseline: aloneRate, unit: "req/s", target: "≥ 0.90×", met: deferred.ratio >= 0.9,
                                      spread: .of(ratios[.deferred]!, ratio: true)))
                figures.append(Figure(name: "control: fast endpoint req/s while the same 64 connections send the same requests answered at once (/later?ms=0), each waiting its 20 ms in the client instead: what that traffic costs with no wait in the host (vs the fast endpoint alone; \(paced.text))",
                                      value: aloneRate * paced.ratio, baseline: aloneRate, unit: "req/s", target: "—", met: true,
                                      spread: .of(ratios[.paced]!, ratio: true)))
                // The wait's own cost: deferred against the control, round by round.
                let perRound = zip(ratios[.deferred]!, ratios[.paced]!).map { $0 / $1 }
                let waitRatio = HTTPBench.median(perRound)
                figures.append(Figure(name: String(format: "fast endpoint req/s with the 64 requests' 20 ms waits deferred in the host vs spent in the client (the control): the cost of waiting in the host itself (median of %d rounds, %.2f–%.2f×)",
                                                   rounds, perRound.min()!, perRound.max()!),
                                      value: aloneRate * paced.ratio * waitRatio, baseline: aloneRate * paced.ratio, unit: "req/s", target: "—", met: true,
                                      spread: .of(perRound, ratio: true)))
            }
        }
        return figures
    }
}
