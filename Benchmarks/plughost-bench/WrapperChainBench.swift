import Logging
import PluginRuntime
import PluginHTTPExtension

/// The cost of wrappers: one runtime serves the same typed endpoint under
/// four prefixes, behind 0, 1, 3 and 10 pass-through wrappers; the requests
/// are interleaved, so all four see the same heap, caches and machine. The
/// four routes differ in one literal segment at the same depth, so routing
/// costs them the same.
enum WrapperChainBench {
    static func run(fixtures: String, logger: Logger) throws -> [Figure] {
        let counts = [0, 1, 3, 10]
        let folder = try BenchFolder(fixtures: fixtures)
        var enabled: [String] = []
        var tables: [String: [String: ConfigValue]] = [:]
        for count in counts {
            for index in 0..<count {
                let alias = "w\(count)_\(index)"
                try folder.add(alias: alias, library: "libhttp_fixture.so", symbol: "http_wrapper_entry")
                tables[alias] = ["mode": .string("pass"), "match": .string("/c\(count)/*")]
                enabled.append(alias)
            }
        }
        for count in counts {
            try folder.add(alias: "e\(count)", library: "libhttp_fixture.so", symbol: "http_bench_entry")
            tables["e\(count)"] = ["prefix": .string("/c\(count)")]
            enabled.append("e\(count)")
        }
        let runtime = PluginRuntime(pluginsDirectory: folder.path, config: HostConfig(enabled: enabled, pluginConfigs: tables),
                                    servesHTTP: true, logger: logger)
        try runtime.start()
        defer { runtime.shutdown() }
        let table = runtime.generation!.endpoints
        let requests = Dictionary(uniqueKeysWithValues: counts.map { ($0, PluginHTTPRequest(method: "GET", path: "/c\($0)/add/40/2")) })
        for count in counts {
            precondition(table.handle(requests[count]!).body == Array("42".utf8), "no 42 behind \(count) wrappers")
            precondition(table.listing.first { $0.path == "/c\(count)/add/:a/:b" }?.wrappers.count == count, "not \(count) wrappers")
        }
        // Interleaved rounds, the fastest of each: the minimum is the least disturbed by the rest of the machine.
        var costs: [Int: Double] = [:]
        var rounds: [Int: [Double]] = [:]
        // Each round starts with another variant, so none is always measured first.
        for round in 0..<12 {
            for count in counts[(round % counts.count)...] + counts[..<(round % counts.count)] {
                let request = requests[count]!
                let cost = Measure.nanoseconds(iterations: 100_000, repeats: 3) { iterations in
                    for _ in 0..<iterations { _ = table.handle(request) }
                }
                costs[count] = min(costs[count] ?? .infinity, cost)
                rounds[count, default: []].append(cost)
            }
        }
        let bare = costs[0]!
        var figures = [Figure(name: "typed endpoint request through the endpoint table, 0 wrappers", value: bare, baseline: nil,
                              unit: "ns", target: "≤ 400 ns", met: bare <= 400, spread: .of(rounds[0]!, ratio: false))]
        for count in [1, 3, 10] {
            figures.append(Figure(name: "request with \(count) wrapper(s) (vs 0)", value: costs[count]!, baseline: bare,
                                  unit: "ns", target: "—", met: true,
                                  spread: .of(zip(rounds[count]!, rounds[0]!).map { $0 / $1 }, ratio: true)))
        }
        for count in [1, 3, 10] {
            let perWrapper = (costs[count]! - bare) / Double(count)
            // A negative cost is a failed measurement (noise larger than the figure), never a target met.
            let measured = perWrapper >= 0
            let perRound = zip(rounds[count]!, rounds[0]!).map { ($0 - $1) / Double(count) }
            figures.append(Figure(name: "cost per wrapper, \(count) wrapper(s) (fastest round of each, difference per wrapper)\(measured ? "" : ": came out negative")",
                                  value: perWrapper, baseline: nil, unit: "ns", target: "≤ 10 ns", met: measured && perWrapper <= 10,
                                  spread: .of(perRound, ratio: false), measured: measured))
        }
        return figures
    }
}
