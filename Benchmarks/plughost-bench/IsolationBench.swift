import Foundation
import Logging
import PluginHTTPExtension
import PluginRuntime

/// Isolated plugins (`[isolation.ALIAS] mode = "process"`) against the same plugins in-process:
/// what crossing the lanes (Sources/CIsolation/lane.h) costs per call, and what it leaves of the
/// HTTP engine's rate.
///
/// Per call, in this process: pairs of runtimes that differ only in one alias's isolation, called
/// in interleaved rounds (each round measures both sides back to back, in alternating order), each
/// call timed on its own; a round's figure is its p50 (p99) over its calls. Unpinned: the host's
/// thread and the plugin process's lane thread go where the scheduler puts them.
///
/// HTTP: `plughost serve --workers 0` with calc in-process and with calc isolated, each pinned with
/// its plugin process to the host's core(s), wrk on the other(s), as the engine figures run.
enum IsolationBench {
    /// Published round-trip figures, for context beside ours (not measured here).
    static let published = "published, not measured here: a Unix-socket round trip 4.6 µs at p50, gRPC over a Unix socket ≈ 20 µs"

    static func run(fixtures: String, examples: String, plughost: String, rounds: Int, calls: Int, seconds: Int, httpRounds: Int,
                    logger: Logger) throws -> [Figure] {
        let program = URL(fileURLWithPath: plughost).deletingLastPathComponent().appendingPathComponent("plughost-plugin-process").path
        guard FileManager.default.isExecutableFile(atPath: program) || ProcessInfo.processInfo.environment["PLUGHOST_PLUGIN_PROCESS"] != nil else {
            print("\(program) not found: isolated figures skipped (make bench builds it)")
            return []
        }
        return try perCall(fixtures: fixtures, examples: examples, rounds: rounds, calls: calls, logger: logger)
            + http(plughost: plughost, examples: examples, seconds: seconds, rounds: httpRounds)
    }

    // MARK: - Per call

    /// One thing measured both ways.
    private struct Pair {
        /// What is called, for the figure's name.
        let label: String
        /// How many lane round trips one isolated call makes (for the name).
        let crossings: String
        /// The goal on the added time at p50, in µs (nil: no goal).
        let addedGoal: Double?
        let inProcess: () -> Void
        let isolated: () -> Void
    }

    private static func perCall(fixtures: String, examples: String, rounds: Int, calls: Int, logger: Logger) throws -> [Figure] {
        let calc = examples + "/calc/libcalc.so"
        // Endpoint and event: calc and the noop subscriber, in-process and both isolated.
        let plain = try Runtime(fixtures: fixtures, logger: logger) { folder in
            try folder.add(alias: "calc", libraryAt: calc, symbol: "calc_entry")
            try folder.addNoop(alias: "noop", library: "libnoop.so")
            return (["calc", "noop"], [:], [])
        }
        let isolated = try Runtime(fixtures: fixtures, logger: logger) { folder in
            try folder.add(alias: "calc", libraryAt: calc, symbol: "calc_entry")
            try folder.addNoop(alias: "noop", library: "libnoop.so")
            return (["calc", "noop"], [:], ["calc", "noop"])
        }
        // A wrapper step: a pass-through wrapper (the fixture's `pass`: only call_next) and the timing
        // example (call_next, then set_header), in-process or isolated, around calc in-process.
        func wrapped(_ isolate: Bool, timing: Bool) throws -> Runtime {
            try Runtime(fixtures: fixtures, logger: logger) { folder in
                try folder.add(alias: "calc", libraryAt: calc, symbol: "calc_entry")
                if timing {
                    try folder.add(alias: "timing", libraryAt: examples + "/timing/libtiming.so", symbol: "timing_entry")
                    return (["timing", "calc"], [:], isolate ? ["timing"] : [])
                }
                try folder.add(alias: "pass", library: "libhttp_fixture.so", symbol: "http_wrapper_entry")
                return (["pass", "calc"], ["pass": ["mode": .string("pass"), "match": .string("/calc/*")]], isolate ? ["pass"] : [])
            }
        }
        let passPlain = try wrapped(false, timing: false), passIsolated = try wrapped(true, timing: false)
        let timingPlain = try wrapped(false, timing: true), timingIsolated = try wrapped(true, timing: true)
        let runtimes = [plain, isolated, passPlain, passIsolated, timingPlain, timingIsolated]
        defer { runtimes.forEach { $0.runtime.shutdown() } }

        let add = PluginHTTPRequest(method: "GET", path: "/calc/add/2/3")
        for runtime in runtimes {
            let response = runtime.generation.handle(add)
            precondition(response.status == 200 && response.body == Array("5".utf8), "GET /calc/add/2/3 did not answer 5 (\(response.status))")
        }
        for runtime in [timingPlain, timingIsolated] {
            precondition(runtime.generation.handle(add).headers.contains { $0.0.lowercased() == "x-response-time-us" }, "timing did not wrap calc")
        }
        for runtime in [passPlain, passIsolated] {
            precondition(runtime.generation.endpoints.listing.first { $0.path == "/calc/add/:a/:b" }?.wrappers.count == 1, "pass does not wrap calc")
        }
        let tick = EventNames.shared.id(for: "bench.tick")!
        precondition(plain.generation.events.subscriberCount(of: tick) == 1 && isolated.generation.events.subscriberCount(of: tick) == 1)

        let pairs = [
            Pair(label: "endpoint call (calc's typed GET /calc/add/2/3 through the endpoint table)", crossings: "1 round trip",
                 addedGoal: 10,
                 inProcess: { _ = plain.generation.handle(add) }, isolated: { _ = isolated.generation.handle(add) }),
            Pair(label: "subscriber: one event published to it (the noop fixture, 1 subscriber)", crossings: "1 round trip", addedGoal: nil,
                 inProcess: { plain.generation.publish(tick) }, isolated: { isolated.generation.publish(tick) }),
            Pair(label: "wrapper step: a pass-through wrapper (call_next only) around calc in-process", crossings: "2 round trips: the wrapper, call_next back",
                 addedGoal: nil,
                 inProcess: { _ = passPlain.generation.handle(add) }, isolated: { _ = passIsolated.generation.handle(add) }),
            Pair(label: "wrapper step: the timing example (call_next, then set_header) around calc in-process",
                 crossings: "3 round trips: the wrapper, call_next and set_header back", addedGoal: nil,
                 inProcess: { _ = timingPlain.generation.handle(add) }, isolated: { _ = timingIsolated.generation.handle(add) }),
        ]
        // Unpinned (where the scheduler puts the threads), then everything on one core: this process's
        // threads and the plugin processes, as the HTTP figures below run the server.
        let placement = CorePlacement.split()
        let pluginProcesses = childProcesses(of: ProcessInfo.processInfo.processIdentifier, named: "plughost-plugin")
        precondition(pluginProcesses.count == 4, "expected 4 plugin processes, found \(pluginProcesses.count)")
        var figures: [Figure] = []
        for oneCore in placement == nil ? [false] : [false, true] {
            for pair in pairs {
                let setting = "\(pair.crossings); \(rounds) interleaved rounds of \(calls) calls, each timed; "
                    + (oneCore ? "this process and the plugin process pinned to core \(placement!.host[0])" : "unpinned")
                let rounds = try oneCore ? placement!.withOneCore(others: pluginProcesses) { measure(pair, rounds: rounds, calls: calls) }
                                         : measure(pair, rounds: rounds, calls: calls)
                let (inP50, isoP50, inP99, isoP99) = (rounds.map(\.inP50), rounds.map(\.isoP50), rounds.map(\.inP99), rounds.map(\.isoP99))
                figures.append(Figure(name: "isolated \(pair.label): time per call at p50 (vs the same in-process; \(setting))",
                                      value: HTTPBench.median(isoP50), baseline: HTTPBench.median(inP50), unit: "µs", target: "—", met: true,
                                      spread: .of(zip(isoP50, inP50).map { $0 / $1 }, ratio: true)))
                // The difference per round; a negative one is noise above the figure (not measured).
                let added = zip(isoP50, inP50).map { $0 - $1 }
                let addedMedian = HTTPBench.median(added)
                let measured = addedMedian >= 0
                figures.append(Figure(name: "isolated \(pair.label): added per call at p50 (isolated p50 − in-process p50, per round; \(oneCore ? "one core" : "unpinned"); \(published))",
                                      value: addedMedian, baseline: nil, unit: "µs", target: pair.addedGoal.map { "≤ \(Int($0)) µs" } ?? "—",
                                      met: measured && pair.addedGoal.map { addedMedian <= $0 } ?? true,
                                      spread: .of(added, ratio: false), measured: measured))
                if !oneCore {
                    figures.append(Figure(name: "isolated \(pair.label): time per call at p99 (vs the same in-process; unpinned)",
                                          value: HTTPBench.median(isoP99), baseline: HTTPBench.median(inP99), unit: "µs", target: "—", met: true,
                                          spread: .of(zip(isoP99, inP99).map { $0 / $1 }, ratio: true)))
                }
            }
        }
        return figures
    }

    /// One round's p50 and p99 of both sides, in µs.
    private struct Round {
        var inP50 = 0.0, isoP50 = 0.0, inP99 = 0.0, isoP99 = 0.0
    }

    /// `rounds` interleaved rounds of `calls` calls of each side of `pair` (after a warm-up of both).
    private static func measure(_ pair: Pair, rounds: Int, calls: Int) -> [Round] {
        _ = latencies(calls / 10, pair.inProcess)
        _ = latencies(calls / 10, pair.isolated)
        return (0..<rounds).map { round in
            var result = Round()
            for isolatedSide in round.isMultiple(of: 2) ? [false, true] : [true, false] {
                let samples = latencies(calls, isolatedSide ? pair.isolated : pair.inProcess).sorted()
                if isolatedSide {
                    (result.isoP50, result.isoP99) = (percentile(samples, 0.5), percentile(samples, 0.99))
                } else {
                    (result.inP50, result.inP99) = (percentile(samples, 0.5), percentile(samples, 0.99))
                }
            }
            return result
        }
    }

    /// The processes named `prefix`… (their `comm`) started by any thread of process `pid`.
    static func childProcesses(of pid: Int32, named prefix: String) -> [Int32] {
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        let children = threads.flatMap { thread in
            ((try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/children", encoding: .utf8)) ?? "").split(separator: " ").compactMap { Int32($0) }
        }
        return children.filter { ((try? String(contentsOfFile: "/proc/\($0)/comm", encoding: .utf8)) ?? "").hasPrefix(prefix) }
    }

    /// A runtime in a bench folder of its own; `setup` adds the plugins and answers the enabled
    /// aliases, their config tables and the aliases to isolate.
    private final class Runtime {
        let folder: BenchFolder
        let runtime: PluginRuntime
        let generation: Generation

        init(fixtures: String, logger: Logger,
             _ setup: (BenchFolder) throws -> ([String], [String: [String: ConfigValue]], [String])) throws {
            folder = try BenchFolder(fixtures: fixtures)
            let (enabled, tables, isolate) = try setup(folder)
            var config = HostConfig(enabled: enabled, pluginConfigs: tables)
            for alias in isolate { config.isolation[alias] = IsolationSettings(mode: .process) }
            runtime = PluginRuntime(pluginsDirectory: folder.path, config: config, servesHTTP: true, logger: logger)
            try runtime.start()
            generation = runtime.generation!
        }
    }

    /// Each of `count` calls of `body` timed on its own, in µs.
    private static func latencies(_ count: Int, _ body: () -> Void) -> [Double] {
        var samples = [Double](repeating: 0, count: count)
        for index in 0..<count {
            let start = ContinuousClock.now
            body()
            samples[index] = (ContinuousClock.now - start).nanoseconds / 1000
        }
        return samples
    }

    /// The `p` quantile of sorted `samples` (nearest rank).
    private static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        sorted[Int((p * Double(sorted.count - 1)).rounded())]
    }

    // MARK: - HTTP

    /// Requests/s and latency of `plughost serve --workers 0` with calc in-process against the same with
    /// `[isolation.calc] mode = "process"`, under wrk as the engine figures run it.
    private static func http(plughost: String, examples: String, seconds: Int, rounds: Int) throws -> [Figure] {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/wrk") else {
            print("wrk not found: isolated HTTP figures skipped (make bench installs it)")
            return []
        }
        guard let placement = CorePlacement.split() else {
            print("one core: the isolated HTTP figures need a core for the server and one for wrk; skipped")
            return []
        }
        let folder = NSTemporaryDirectory() + "plughost-bench-isolation-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let base = "[host]\nnamespaces = [\"plughost.plugins\"]\nenabled = [\"calc\"]\n"
        try (base + "state-dir = \"\(folder)/in\"\n").write(toFile: folder + "/in.toml", atomically: true, encoding: .utf8)
        try (base + "state-dir = \"\(folder)/iso\"\n[isolation.calc]\nmode = \"process\"\n")
            .write(toFile: folder + "/iso.toml", atomically: true, encoding: .utf8)
        for name in ["in", "iso"] { try FileManager.default.createDirectory(atPath: folder + "/" + name, withIntermediateDirectories: true) }

        func server(_ name: String) throws -> EngineBench.PinnedServer {
            let port = try EngineBench.freePort()
            return try EngineBench.PinnedServer(name: name, port: port, arguments: [
                plughost, "serve", "--plugins", examples, "--config", folder + "/\(name).toml", "--port", String(port),
                "--workers", "0", "--pid-file", folder + "/\(name)/plughost.pid", "--log-level", "warning",
            ], placement: placement, log: folder + "/\(name).log")
        }
        let servers = [try server("in"), try server("iso")]
        // The isolated server must really serve calc from a plugin process (a child of one of its threads).
        precondition(!childProcesses(of: servers[1].process.processIdentifier, named: "plughost-plugin").isEmpty,
                     "the isolated server runs no plugin process")

        var loads: [String: [HTTPBench.Load]] = [:]
        for round in 0..<rounds {
            for server in round.isMultiple(of: 2) ? servers : servers.reversed() {
                guard server.process.isRunning else { throw BenchError("plughost serve (\(server.name)) ended") }
                loads[server.name, default: []].append(
                    try HTTPBench.wrk(port: server.port, seconds: seconds, path: "/calc/add/2/3", connections: 64, placement: placement))
            }
        }
        let pinning = "server and its plugin process on core(s) \(placement.host.map(String.init).joined(separator: ",")), wrk -t1 -c64 on \(placement.load.map(String.init).joined(separator: ","))"
        let plain = loads["in"]!, isolated = loads["iso"]!
        let ratios = zip(isolated, plain).map { $0.requestsPerSecond / $1.requestsPerSecond }
        let ratio = HTTPBench.median(ratios)
        let plainRate = HTTPBench.median(plain.map(\.requestsPerSecond))
        var figures = [Figure(
            name: "HTTP requests/s through an isolated endpoint (calc's GET /calc/add/2/3, plughost serve --workers 0 with [isolation.calc] mode = \"process\"; vs calc in-process; \(pinning); median of \(rounds) interleaved rounds)",
            value: plainRate * ratio, baseline: plainRate, unit: "req/s", target: "≥ 0.6×", met: ratio >= 0.6, spread: .of(ratios, ratio: true))]
        for (percentile, values) in [("p50", \HTTPBench.Load.p50), ("p99", \HTTPBench.Load.p99)] {
            let mine = isolated.map { $0[keyPath: values] }
            let theirs = plain.map { $0[keyPath: values] }
            figures.append(Figure(name: "HTTP \(percentile) latency at 64 connections through an isolated endpoint (vs calc in-process)",
                                  value: HTTPBench.median(mine), baseline: HTTPBench.median(theirs), unit: "µs", target: "—", met: true,
                                  spread: .of(zip(mine, theirs).map { $0 / $1 }, ratio: true)))
        }
        return figures
    }
}
