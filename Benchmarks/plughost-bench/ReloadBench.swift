import Foundation
import Logging
import PluginHTTP
import PluginRuntime
import PluginHTTPExtension
import Synchronization
import CMallocCounter

/// Hot reload: how long one changed plugin takes to serve, how memory grows
/// over many reloads, and whether any request fails while reloads run under load.
enum ReloadBench {
    /// A plugins folder holding `others` noop plugins and one reloadable fixture (`versioned` or `swift_versioned`).
    final class Setup {
        let folder: BenchFolder
        let fixtures: String
        let fixture: String
        let runtime: PluginRuntime
        private var build = "v1"

        init(fixtures: String, fixture: String, symbol: String, others: Int, servesHTTP: Bool, logger: Logger) throws {
            self.fixtures = fixtures
            self.fixture = fixture
            folder = try BenchFolder(fixtures: fixtures)
            for index in 0..<others { try folder.addNoop(alias: "p\(index)", library: "libnoop\(index).so") }
            try FileManager.default.createDirectory(atPath: folder.path + "/" + fixture, withIntermediateDirectories: true)
            try "[plugin]\nname = \"r\"\nversion = \"1\"\n[entry-points.\"plughost.plugins\"]\nreloaded = \"lib\(fixture).so:\(symbol)\"\n"
                .write(toFile: folder.path + "/\(fixture)/r.toml", atomically: true, encoding: .utf8)
            runtime = PluginRuntime(pluginsDirectory: folder.path, servesHTTP: servesHTTP, logger: logger)
            try install("v1")
            try runtime.start()
        }

        /// Installs the other build by rename and reloads; returns the report.
        func swap() throws -> ReloadReport {
            build = build == "v1" ? "v2" : "v1"
            try install(build)
            let report = runtime.reload()
            precondition(report.succeeded && report.changed == ["reloaded"], "reload failed: \(report)")
            return report
        }

        private func install(_ build: String) throws {
            let target = folder.path + "/\(fixture)/lib\(fixture).so"
            try? FileManager.default.removeItem(atPath: target + ".new")
            try FileManager.default.copyItem(atPath: fixtures + "/\(fixture)/\(build)/lib\(fixture).so", toPath: target + ".new")
            guard rename(target + ".new", target) == 0 else { throw CocoaError(.fileWriteUnknown) }
        }
    }

    /// Reload of one changed C plugin among 10, against restarting the whole runtime.
    static func latency(fixtures: String, reloads: Int, logger: Logger) throws -> [Figure] {
        let setup = try Setup(fixtures: fixtures, fixture: "versioned", symbol: "versioned_entry", others: 9, servesHTTP: true, logger: logger)
        defer { setup.runtime.shutdown() }
        for _ in 0..<10 { _ = try setup.swap() }
        var swaps: [Double] = []
        var totals: [Double] = []
        for _ in 0..<reloads {
            let start = ContinuousClock.now
            let report = try setup.swap()
            totals.append((ContinuousClock.now - start).nanoseconds / 1e6)
            swaps.append(report.swapLatency.nanoseconds / 1e6)
        }
        var restarts: [Double] = []
        for _ in 0..<5 {
            let start = ContinuousClock.now
            let runtime = PluginRuntime(pluginsDirectory: setup.folder.path, servesHTTP: true, logger: logger)
            try runtime.start()
            runtime.shutdown()
            restarts.append((ContinuousClock.now - start).nanoseconds / 1e6)
        }
        let restart = Measure.median(restarts)
        return [
            Figure(name: "reload 1 changed C plugin of 10, until it serves (p50; vs restarting all 10)",
                   value: Measure.median(swaps), baseline: restart, unit: "ms", target: "—", met: true, spread: .of(swaps, ratio: false)),
            Figure(name: "reload 1 changed C plugin of 10, incl. drain and unload of the old one (p50)",
                   value: Measure.median(totals), baseline: restart, unit: "ms", target: "—", met: true, spread: .of(totals, ratio: false)),
        ]
    }

    /// Resident memory and heap growth per reload over `reloads` reloads, after 10 to warm up.
    static func memory(fixtures: String, swift: Bool, reloads: Int, logger: Logger) throws -> Figure {
        let setup = try Setup(fixtures: fixtures, fixture: swift ? "swift_versioned" : "versioned",
                              symbol: swift ? "swift_versioned_entry" : "versioned_entry", others: 0, servesHTTP: true, logger: logger)
        defer { setup.runtime.shutdown() }
        for _ in 0..<10 { _ = try setup.swap() }
        let residentBefore = residentKiB()
        let heapBefore = Int(malloc_counter_bytes_in_use())
        let retainedBefore = setup.runtime.retainedSwiftImages
        for _ in 0..<reloads { _ = try setup.swap() }
        let perReload = Double(residentKiB() - residentBefore) / Double(reloads)
        let heapPerReload = Double(Int(malloc_counter_bytes_in_use()) - heapBefore) / Double(reloads)
        let heap = "heap \(Report.format(heapPerReload)) B/reload"
        if swift {
            let retained = setup.runtime.retainedSwiftImages - retainedBefore
            return Figure(name: "resident memory growth per reload of a Swift plugin (\(heap); \(retained) of \(reloads) old images stay mapped)",
                          value: perReload, baseline: nil, unit: "KiB", target: "one image kept per reload, by design", met: retained == reloads)
        }
        return Figure(name: "resident memory growth per reload of a C plugin (\(heap); over \(reloads), old images dlclosed)",
                      value: perReload, baseline: nil, unit: "KiB", target: "≤ 1 KiB (no leak)", met: perReload <= 1)
    }

    /// wrk on a plugin endpoint while the plugin is swapped `reloads` times: every request must succeed.
    static func underLoad(fixtures: String, reloads: Int, logger: Logger) async throws -> Figure? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/wrk") else { return nil }
        let setup = try Setup(fixtures: fixtures, fixture: "versioned", symbol: "versioned_entry", others: 0, servesHTTP: true, logger: logger)
        defer { setup.runtime.shutdown() }
        var outcomes: [(requests: Int, failed: Int)] = []
        try await HTTPBench.withRunning({ PluginHTTPServer.makeApplication(runtime: setup.runtime, port: 0, logger: logger, onServerRunning: $0) }) { port in
            // Quick requests, and requests that spend 20 ms inside the plugin across the swaps.
            let loads = try ["/version", "/slow"].map { path in
                let wrk = Process()
                wrk.executableURL = URL(fileURLWithPath: "/usr/bin/wrk")
                wrk.arguments = ["-t1", path == "/slow" ? "-c2" : "-c16", "-d4s", "http://127.0.0.1:\(port)\(path)"]
                let pipe = Pipe()
                wrk.standardOutput = pipe
                try wrk.run()
                return (wrk, pipe)
            }
            usleep(300_000)
            for _ in 0..<reloads {
                _ = try setup.swap()
                usleep(10_000)
            }
            for (wrk, pipe) in loads {
                let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                wrk.waitUntilExit()
                outcomes.append(parse(output))
            }
        }
        let requests = outcomes.map(\.requests).reduce(0, +)
        let failed = outcomes.map(\.failed).reduce(0, +)
        return Figure(name: "failed requests while reloading \(reloads)× under wrk load (\(requests) requests, \(outcomes.last?.requests ?? 0) of them 20 ms long)",
                      value: Double(failed), baseline: nil, unit: "", target: "0", met: failed == 0 && requests > 0, measured: requests > 0)
    }

    /// Requests and failures (non-2xx, socket errors) from wrk's report.
    static func parse(_ output: String) -> (requests: Int, failed: Int) {
        var requests = 0
        var failed = 0
        for line in output.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if line.contains("requests in") { requests = Int(line.split(separator: " ").first ?? "") ?? 0 }
            if line.hasPrefix("Non-2xx or 3xx responses:") { failed += Int(line.split(separator: " ").last ?? "") ?? 0 }
            if line.hasPrefix("Socket errors:") {
                failed += line.split(separator: ",").compactMap { Int($0.split(separator: " ").last ?? "") }.reduce(0, +)
            }
        }
        return (requests, failed)
    }

    /// The process's resident set, from /proc/self/statm.
    static func residentKiB() -> Int {
        let statm = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? ""
        let pages = statm.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return pages * Int(sysconf(Int32(_SC_PAGESIZE))) / 1024
    }
}
