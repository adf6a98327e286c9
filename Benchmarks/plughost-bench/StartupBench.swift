import Foundation
import Logging
import PluginRuntime
import PluginHTTPExtension

/// Discovering, loading and starting many plugins, and the examples.
enum StartupBench {
    /// 100 distinct C libraries (copies of the noop fixture), one manifest each.
    static func hundredPlugins(fixtures: String, logger: Logger) throws -> Figure {
        var samples: [Double] = []
        for _ in 0..<3 {
            // A fresh folder each time: the 100 images are really opened, not found already loaded.
            let folder = try BenchFolder(fixtures: fixtures)
            for index in 0..<100 { try folder.addNoop(alias: "p\(index)", library: "libnoop\(index).so") }
            let runtime = PluginRuntime(pluginsDirectory: folder.path, config: HostConfig(), logger: logger)
            let start = ContinuousClock.now
            try runtime.start()
            samples.append((ContinuousClock.now - start).nanoseconds / 1e6)
            precondition(runtime.generation?.aliases.count == 100)
            runtime.shutdown()
        }
        let milliseconds = samples.sorted()[1]
        return Figure(name: "100 plugins discovered, loaded and started", value: milliseconds, baseline: nil,
                      unit: "ms", target: "≤ 200 ms", met: milliseconds <= 200, spread: .of(samples, ratio: false))
    }

    /// The example plugins with their host config.
    static func examples(directory: String, config: String, logger: Logger) throws -> Figure {
        let hostConfig = try HostConfig.load(path: config)
        var startMilliseconds: [Double] = []
        for _ in 0..<3 {
            let runtime = PluginRuntime(pluginsDirectory: directory, config: hostConfig, servesHTTP: true, logger: logger)
            let start = ContinuousClock.now
            try runtime.start()
            startMilliseconds.append((ContinuousClock.now - start).nanoseconds / 1e6)
            precondition(runtime.generation?.aliases.count == hostConfig.enabled?.count, "not every example loaded")
            runtime.shutdown()
        }
        let median = startMilliseconds.sorted()[1]
        return Figure(name: "the 6 example plugins (5 in C, 1 in Swift) loaded and started", value: median,
                      baseline: nil, unit: "ms", target: "—", met: true, spread: .of(startMilliseconds, ratio: false))
    }
}
