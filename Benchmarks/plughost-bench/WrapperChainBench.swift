import Logging
import PluginRuntime

/// The cost of wrappers: a typed endpoint served through 0, 1, 3 and 10
/// pass-through wrappers, against the same endpoint with none.
enum WrapperChainBench {
    static func run(fixtures: String, logger: Logger) throws -> [Figure] {
        let request = PluginHTTPRequest(method: "GET", path: "/t/add/40/2")
        let counts = [0, 1, 3, 10]
        var folders: [BenchFolder] = []
        var runtimes: [Int: PluginRuntime] = [:]
        for wrappers in counts {
            let folder = try BenchFolder(fixtures: fixtures)
            folders.append(folder)
            runtimes[wrappers] = try folder.endpointsRuntime(wrappers: wrappers, logger: logger)
            precondition(runtimes[wrappers]!.generation!.endpoints.handle(request).body == Array("42".utf8), "no 42")
        }
        defer { runtimes.values.forEach { $0.shutdown() } }
        // Interleaved rounds, the fastest of each: separately built runtimes differ by more
        // than a wrapper costs, and the minimum is the least disturbed by the rest of the machine.
        var costs: [Int: Double] = [:]
        for _ in 0..<5 {
            for wrappers in counts {
                let table = runtimes[wrappers]!.generation!.endpoints
                let cost = Measure.nanoseconds(iterations: 100_000, repeats: 3) { count in
                    for _ in 0..<count { _ = table.handle(request) }
                }
                costs[wrappers] = min(costs[wrappers] ?? .infinity, cost)
            }
        }
        let bare = costs[0]!
        var figures = [Figure(name: "typed endpoint request through the endpoint table, 0 wrappers", value: bare, baseline: nil,
                              unit: "ns", target: "—", met: true)]
        for wrappers in [1, 3, 10] {
            let perWrapper = (costs[wrappers]! - bare) / Double(wrappers)
            figures.append(Figure(name: "cost per wrapper, \(wrappers) wrapper(s)", value: perWrapper, baseline: nil,
                                  unit: "ns", target: "≤ 20 ns", met: perWrapper <= 20))
        }
        return figures
    }
}
