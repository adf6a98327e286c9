// plughost-bench: performance figures against their baselines, in one run.
// Usage: plughost-bench FIXTURES_DIR EXAMPLES_DIR EXAMPLES_CONFIG [OUTPUT.md]
import Foundation
import Logging
import PluginHTTP

let arguments = CommandLine.arguments
// The engine figures' baseline process: a bare Hummingbird route (see EngineBench).
if arguments.count == 3, arguments[1] == "--serve-bare", let port = Int(arguments[2]) {
    try await EngineBench.serveBare(port: port)
    exit(0)
}
guard arguments.count >= 4 else {
    FileHandle.standardError.write(Data("usage: plughost-bench FIXTURES_DIR EXAMPLES_DIR EXAMPLES_CONFIG [OUTPUT.md]\n".utf8))
    exit(2)
}
let fixtures = arguments[1]
let smoke = ProcessInfo.processInfo.environment["PLUGHOST_BENCH_SMOKE"] != nil
var logger = Logger(label: "plughost-bench")
logger.logLevel = .error
// Metrics as plughost serve has them: a Prometheus backend, bootstrapped before any metric is made.
let metrics = HostMetrics.bootstrap()

// PLUGHOST_BENCH_ONLY=events,chain,cache,typed,http,engine,blocking,isolation,lanes,workers,startup,reload runs a subset (for quick iterations).
let only = ProcessInfo.processInfo.environment["PLUGHOST_BENCH_ONLY"].map { Set($0.split(separator: ",").map(String.init)) }
func selected(_ name: String) -> Bool { only?.contains(name) ?? true }

var figures: [Figure] = []
if selected("events") {
    for subscribers in smoke ? [10] : [1, 10, 100] {
        figures += try EventDispatchBench.run(fixtures: fixtures, subscribers: subscribers, logger: logger)
    }
    figures.append(EventDispatchBench.countingCost())
    figures += try CallRecordBench.run(fixtures: fixtures)
}
if selected("chain") { figures += try WrapperChainBench.run(fixtures: fixtures, logger: logger) }
if selected("cache") { figures += try CacheBench.run() }
if selected("typed") { figures += try TypedCallBench.run(fixtures: fixtures) }
if selected("http") { figures += try await HTTPBench.run(fixtures: fixtures, seconds: smoke ? 1 : 3, rounds: smoke ? 1 : 9, metrics: metrics, logger: logger) }
// The release plughost beside this executable (make bench builds both).
let plughostBinary = URL(fileURLWithPath: Supervisor.executable).deletingLastPathComponent().appendingPathComponent("plughost").path
var engineProfile: String?
if selected("engine") {
    let engine = try EngineBench.run(plughost: plughostBinary, examples: arguments[2], seconds: smoke ? 1 : 5, rounds: smoke ? 1 : 3)
    figures += engine.figures
    engineProfile = engine.profile
}
if selected("blocking") {
    figures += try await BlockingBench.run(fixtures: fixtures, examples: arguments[2], seconds: smoke ? 1 : 3, rounds: smoke ? 1 : 9, logger: logger)
}
if selected("isolation") {
    figures += try IsolationBench.run(fixtures: fixtures, examples: arguments[2], plughost: plughostBinary, rounds: smoke ? 2 : 7,
                                      calls: smoke ? 2_000 : 10_000, seconds: smoke ? 1 : 3, httpRounds: smoke ? 1 : 5, logger: logger)
}
// Round trips between two processes over the lanes' transport and its alternatives (a C program
// built with gcc by its script): whether shared memory would cross faster.
var laneAlternatives: String?
if selected("lanes") {
    laneAlternatives = LaneAlternatives.run(rounds: smoke ? 2 : 5, perRound: smoke ? 5_000 : 40_000)
    print(laneAlternatives ?? "lane alternatives: not measured (Benchmarks/lane-alternatives/run.sh failed)")
}
if selected("workers") {
    figures += try WorkersBench.run(plughost: plughostBinary, fixtures: fixtures, seconds: smoke ? 1 : 3, rounds: smoke ? 1 : 5)
}
if selected("startup") {
    figures.append(try StartupBench.hundredPlugins(fixtures: fixtures, logger: logger))
    figures.append(try StartupBench.examples(directory: arguments[2], config: arguments[3], logger: logger))
}
if selected("reload") {
    let reloads = smoke ? 10 : Int(ProcessInfo.processInfo.environment["PLUGHOST_BENCH_RELOADS"] ?? "") ?? 100
    figures += try ReloadBench.latency(fixtures: fixtures, reloads: reloads, logger: logger)
    figures.append(try ReloadBench.memory(fixtures: fixtures, swift: false, reloads: reloads, logger: logger))
    figures.append(try ReloadBench.memory(fixtures: fixtures, swift: true, reloads: reloads, logger: logger))
    if let underLoad = try await ReloadBench.underLoad(fixtures: fixtures, reloads: reloads, logger: logger) { figures.append(underLoad) }
}

let table = Report.table(figures)
print(table)
if arguments.count >= 5 {
    var uname = utsname()
    _ = Glibc.uname(&uname)
    let machine = withUnsafeBytes(of: uname.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    let release = withUnsafeBytes(of: uname.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    let cores = ProcessInfo.processInfo.activeProcessorCount
    let memory = ProcessInfo.processInfo.physicalMemory / 1_073_741_824
    let text = """
        # plughost benchmarks

        Written by `make bench` (release build). Machine: \(machine), \(cores) cores, \(memory) GiB, Linux \(release).
        Each figure is the median of several runs; baselines were measured in the same run. The spread
        column gives the lowest and highest value over the rounds (of the ratio, for a figure with a
        baseline); a figure that came out impossible (a negative cost) says "not measured" and is never met.
        Rows labelled "isolated" run a plugin in a process of its own (`[isolation.ALIAS] mode = "process"`)
        against the same plugin in-process, in the same run.

        \(table)

        ## Profile of the serving process

        `plughost serve --workers 0` with the calc example, pinned to one core, under the engine figures'
        wrk load (`GET /calc/add/2/3`, 64 connections), sampled with `perf record -g`; self time.

        ### This build

        \(engineProfile.map { "```\n\($0)\n```" } ?? "Not measured (no perf, or not permitted on this machine).")

        ### Before the event-loop serving path

        \(Profile.before)

        ## Round trips between two processes: lanes and the alternatives

        `Benchmarks/lane-alternatives/run.sh` (C, built with gcc): a caller process sends a 64-byte message
        and waits for a 64-byte answer from a server process, each round trip timed; what an isolated
        plugin's call crosses (Sources/CIsolation/lane.h) against the other ways it could cross.

        \(laneAlternatives ?? "Not measured in this run.")

        """
    try text.write(toFile: arguments[4], atomically: true, encoding: .utf8)
}
