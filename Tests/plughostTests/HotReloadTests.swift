import Foundation
import PluginTestSupport
import Synchronization
import Testing

/// Steady loopback traffic from a few threads, counting every answer that is not a 200 with an expected body.
final class LoadGenerator: @unchecked Sendable {
    // @unchecked Sendable: the counters are Mutex-protected; `threads` is touched by the owning test only.
    struct Tally {
        var ok = 0
        var failures: [String] = []
        var bodies: [String: Int] = [:]
    }

    let tally = Mutex(Tally())
    private let running = Atomic<Bool>(true)
    private var threads: [Thread] = []

    /// Starts `clients` threads that `GET path` in a loop; a body outside `accepted` is a failure.
    init(server: ServeProcess, path: String, accepted: Set<String>, clients: Int = 4) {
        for _ in 0..<clients {
            let thread = Thread { [self] in
                while running.load(ordering: .relaxed) {
                    let (status, body) = server.get(path)
                    tally.withLock { tally in
                        if status == 200 && accepted.contains(body) {
                            tally.ok += 1
                            tally.bodies[body, default: 0] += 1
                        } else {
                            tally.failures.append("\(status.map(String.init) ?? "no answer"): \(body)")
                        }
                    }
                }
            }
            thread.start()
            threads.append(thread)
        }
    }

    /// Stops the clients and returns what they saw.
    func finish() -> Tally {
        running.store(false, ordering: .relaxed)
        while threads.contains(where: { !$0.isFinished }) { usleep(5_000) }
        return tally.withLock { $0 }
    }
}

@Suite("Hot reload of a running plughost serve", .serialized)
struct HotReloadTests {
    /// A folder serving the `versioned` fixture from `versioned/libversioned.so`.
    private func versionedFolder() -> PluginFolder {
        let folder = PluginFolder()
        folder.manifest("versioned/versioned.toml", [("versioned", "libversioned.so:versioned_entry")])
        install(folder, build: "v1")
        folder.write("host.toml", "[host]\nenabled = [\"versioned\"]\n")
        return folder
    }

    /// Installs build `build` (v1, v2, broken) of the fixture the way authors should: copy beside, then rename.
    private func install(_ folder: PluginFolder, build: String) {
        let staging = folder.path + "/versioned/.libversioned.so.new"
        try? FileManager.default.removeItem(atPath: staging)
        try! FileManager.default.copyItem(atPath: Fixtures.library("versioned/\(build)/libversioned.so"), toPath: staging)
        precondition(rename(staging, folder.path + "/versioned/libversioned.so") == 0)
    }

    @Test("100 SIGHUP swaps between two builds under steady load: 0 failed requests, responses switch versions")
    func hundredSwapsUnderLoad() throws {
        let folder = versionedFolder()
        let server = try ServeProcess(folder: folder)
        #expect(server.get("/version").body == "v1")
        let load = LoadGenerator(server: server, path: "/version", accepted: ["v1", "v2"], clients: 3)
        // Requests that sit 20 ms inside the plugin while reloads swap it out.
        let slowLoad = LoadGenerator(server: server, path: "/slow", accepted: ["v1", "v2"], clients: 3)
        usleep(100_000)

        var latencies: [Int] = []
        for swap in 1...100 {
            let build = swap % 2 == 1 ? "v2" : "v1"
            install(folder, build: build)
            let asked = ServeProcess.now()
            server.hangUp()
            let report = try #require(server.reload(startedAfter: asked), "no report for swap \(swap)")
            #expect(report["succeeded"] as? Bool == true, "swap \(swap): \(report)")
            #expect(report["changed"] as? [String] == ["versioned"], "swap \(swap): \(report)")
            latencies.append((report["swap_latency_us"] as? Int) ?? -1)
            // A request that starts after the swap gets the new build.
            #expect(server.get("/version").body == build, "swap \(swap)")
        }
        usleep(100_000)
        let tally = load.finish()
        let slow = slowLoad.finish()
        #expect(tally.failures.isEmpty, "\(tally.failures.count) failed: \(tally.failures.prefix(5))")
        #expect(slow.failures.isEmpty, "\(slow.failures.count) slow ones failed: \(slow.failures.prefix(5))")
        #expect(tally.ok > 200 && slow.ok > 50, "too little load to mean anything: \(tally.ok), \(slow.ok)")
        #expect((tally.bodies["v1"] ?? 0) > 0 && (tally.bodies["v2"] ?? 0) > 0, "\(tally.bodies)")
        let sorted = latencies.sorted()
        print("hot reload: \(tally.ok + slow.ok) requests (\(slow.ok) of 20 ms), 0 failed, over 100 swaps; swap latency p50 \(sorted[50]) µs, max \(sorted.last!) µs")
        #expect(server.stop() == 0)
    }

    @Test("with 2 workers a reload is prepared in every worker, then swapped in all; when one worker fails to build, none swaps, and the report says so per worker; /_plughost/plugins shows the supervisor's view")
    func reloadAcrossWorkers() throws {
        let folder = versionedFolder()
        let server = try ServeProcess(folder: folder, extraArguments: ["--workers", "2"])
        let pids = Array(Set(Self.workerPids(server.log)))
        // Both workers serve before the first round (a worker still starting takes no part).
        let deadline = Date().addingTimeInterval(10)
        while Set(Self.workerPids(server.log)).count < 2 && Date() < deadline { usleep(20_000) }
        let workers = Array(Set(Self.workerPids(server.log))).sorted()
        #expect(workers.count == 2, "\(pids) \(server.log)")
        // ... and the supervisor knows both serve (they tell it with a signal).
        while Date() < deadline {
            let view = server.get("/_plughost/plugins").body
            if view.components(separatedBy: #""serving":true"#).count == 3 { break }
            usleep(20_000)
        }
        let load = LoadGenerator(server: server, path: "/version", accepted: ["v1", "v2"])

        install(folder, build: "v2")
        let swap = try Plughost.run(["reload", "--pid-file", server.pidFile])
        #expect(swap.status == 0 && swap.output.contains("all 2 worker(s) swapped"), "\(swap.output)")
        let report = try #require(server.lastReload)
        let reports = try #require(report["workers"] as? [[String: Any]])
        #expect(reports.count == 2 && reports.allSatisfy { $0["succeeded"] as? Bool == true && ($0["changed"] as? [String]) == ["versioned"] },
                "\(report)")
        #expect(Set(reports.compactMap { ($0["pid"] as? NSNumber)?.int32Value }) == Set(workers))
        // Every worker serves the new build: many requests, no v1.
        #expect((0..<20).allSatisfy { _ in server.get("/version").body == "v2" })

        // One worker (the first) cannot build the next generation: nobody swaps.
        let failing = workers[0]
        folder.write("fail.\(failing)", "")
        folder.write("host.toml", "[host]\nenabled = [\"versioned\"]\n\n[plugin.versioned]\nfail-if-exists = \"\(folder.path)/fail.\"\n")
        install(folder, build: "v1")
        let refused = try Plughost.run(["reload", "--pid-file", server.pidFile])
        #expect(refused.status == 1, "\(refused.output)")
        #expect(refused.output.contains("worker \(failing)") && refused.output.contains("failing on purpose"), "\(refused.output)")
        let failed = try #require(server.lastReload?["workers"] as? [[String: Any]])
        let other = try #require(failed.first { ($0["pid"] as? NSNumber)?.int32Value != failing })
        #expect(other["succeeded"] as? Bool == false && "\(other["problems"] ?? "")".contains("aborted:"), "\(failed)")
        #expect((0..<20).allSatisfy { _ in server.get("/version").body == "v2" }, "a worker swapped alone")

        // The supervisor's view, from whichever worker answers.
        let listing = server.get("/_plughost/plugins").body
        let object = try #require(try JSONSerialization.jsonObject(with: Data(listing.utf8)) as? [String: Any])
        let supervisor = try #require(object["supervisor"] as? [String: Any], "\(listing)")
        let viewWorkers = try #require(supervisor["workers"] as? [[String: Any]])
        #expect(Set(viewWorkers.compactMap { ($0["pid"] as? NSNumber)?.int32Value }) == Set(workers), "\(supervisor)")
        #expect((supervisor["reload_rounds"] as? Int ?? 0) >= 2)

        try FileManager.default.removeItem(atPath: folder.path + "/fail.\(failing)")
        let healed = try Plughost.run(["reload", "--pid-file", server.pidFile])
        #expect(healed.status == 0, "\(healed.output)")
        #expect((0..<20).allSatisfy { _ in server.get("/version").body == "v1" })
        let tally = load.finish()
        #expect(tally.failures.isEmpty, "\(tally.failures.prefix(5))")
        #expect(server.stop() == 0)
    }

    /// The pids of the workers in `log`'s "worker N serving" lines, in order.
    private static func workerPids(_ log: String) -> [Int32] {
        log.split(separator: "\n").compactMap { line -> Int32? in
            guard let range = line.range(of: "worker "), line.contains("serving HTTP") else { return nil }
            return Int32(line[range.upperBound...].prefix { $0.isNumber })
        }
    }

    @Test("a broken new build keeps the old one serving under load, and plughost reload says why")
    func brokenBuildKeepsOld() throws {
        let folder = versionedFolder()
        let server = try ServeProcess(folder: folder)
        let load = LoadGenerator(server: server, path: "/version", accepted: ["v1"])
        usleep(100_000)

        install(folder, build: "broken")
        let result = try Plughost.run(["reload", "--pid-file", server.pidFile])
        #expect(result.status == 1, "\(result.output)")
        #expect(result.output.contains("reload failed"), "\(result.output)")
        #expect(result.output.contains("this build is broken on purpose"), "\(result.output)")
        #expect(result.output.contains("alias 'versioned'") || result.output.contains("versioned"), "\(result.output)")
        #expect(result.output.contains("libversioned.so"), "\(result.output)")
        #expect(server.get("/version").body == "v1")

        // The admin listing shows the failed reload and the plugin still running.
        let listing = server.get("/_plughost/plugins")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(listing.body.utf8)) as? [String: Any])
        let last = try #require(json["last_reload"] as? [String: Any])
        #expect(last["succeeded"] as? Bool == false)
        #expect((last["problems"] as? [String])?.first?.contains("broken on purpose") == true)
        let plugins = try #require(json["plugins"] as? [[String: Any]])
        #expect(plugins.first { $0["alias"] as? String == "versioned" }?["state"] as? String == "running")
        #expect(server.log.contains("broken on purpose"))

        // A good build after the broken one goes through, still under load.
        install(folder, build: "v2")
        let fixed = try Plughost.run(["reload", "--pid-file", server.pidFile])
        #expect(fixed.status == 0, "\(fixed.output)")
        #expect(fixed.output.contains("changed: versioned"), "\(fixed.output)")
        #expect(server.get("/version").body == "v2")
        let tally = load.finish()
        // Requests racing the swap may see v2.
        let failures = tally.failures.filter { !$0.hasSuffix(": v2") }
        #expect(failures.isEmpty, "\(failures.prefix(5))")
        #expect(server.stop() == 0)
    }

    @Test("signals back to back coalesce; POST /_plughost/reload answers with the report; the host keeps serving")
    func coalescedSignals() throws {
        let folder = versionedFolder()
        let server = try ServeProcess(folder: folder)
        install(folder, build: "v2")
        for _ in 0..<50 { server.hangUp() }
        let reply = server.send("POST /_plughost/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        #expect(reply.status == 200, "\(reply)")
        #expect(reply.body.contains("\"succeeded\":true"), "\(reply.body)")
        #expect(server.get("/version").body == "v2")
        let listing = server.get("/_plughost/plugins").body
        let json = try #require(try JSONSerialization.jsonObject(with: Data(listing.utf8)) as? [String: Any])
        let reloads = try #require(json["reloads"] as? Int)
        #expect(reloads >= 1 && reloads < 51, "\(reloads) reloads for 51 requests")
        #expect(server.get("/_plughost/reload").status == 405)
        #expect(server.stop() == 0)
    }

    @Test("POST /_plughost/reload from a non-loopback address is refused with 403",
          .enabled(if: RawHTTP.nonLoopbackAddress() != nil, "this machine has no non-loopback IPv4 address"))
    func reloadRefusedFromOutside() throws {
        let folder = versionedFolder()
        let server = try ServeProcess(folder: folder, extraArguments: ["--host", "0.0.0.0"])
        let outside = try #require(RawHTTP.nonLoopbackAddress())
        let request = "POST /_plughost/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        let refused = try RawHTTP.send(request, port: server.port, host: outside)
        #expect(refused.hasPrefix("HTTP/1.1 403"), "\(refused)")
        #expect(server.lastReload == nil, "a reload ran")
        #expect(server.send(request).status == 200)
        #expect(server.stop() == 0)
    }

    @Test("plughost reload without a running host names the pid file")
    func reloadWithoutHost() throws {
        let folder = PluginFolder()
        let missing = try Plughost.run(["reload", "--pid-file", folder.path + "/none.pid"])
        #expect(missing.status != 0)
        #expect(missing.output.contains("none.pid"), "\(missing.output)")
        folder.write("stale.pid", "999999\n")
        let stale = try Plughost.run(["reload", "--pid-file", folder.path + "/stale.pid"])
        #expect(stale.status != 0)
        #expect(stale.output.contains("no process 999999"), "\(stale.output)")
    }

    @Test("serve --watch reloads when a new build is renamed into the folder")
    func watchReloads() throws {
        let folder = versionedFolder()
        let server = try ServeProcess(folder: folder, extraArguments: ["--watch", "--watch-debounce-ms", "100"])
        let asked = ServeProcess.now()
        install(folder, build: "v2")
        let report = try #require(server.reload(startedAfter: asked))
        #expect(report["succeeded"] as? Bool == true, "\(report)")
        #expect(server.get("/version").body == "v2")

        // The reload report written into the watched folder does not start another reload.
        usleep(400_000)
        let listing = try #require(try JSONSerialization.jsonObject(with: Data(server.get("/_plughost/plugins").body.utf8)) as? [String: Any])
        #expect(listing["reloads"] as? Int == 1, "\(listing["reloads"] ?? "?")")

        // A plugin in a new subfolder is picked up too.
        let second = ServeProcess.now()
        try FileManager.default.createDirectory(atPath: folder.path + "/more", withIntermediateDirectories: true)
        usleep(300_000)
        try FileManager.default.copyItem(atPath: Fixtures.library("libnoop.so"), toPath: folder.path + "/more/libnoop.so")
        folder.manifest("more/noop.toml", [("noop", "libnoop.so:noop_entry")])
        folder.write("host.toml", "[host]\nenabled = [\"versioned\", \"noop\"]\n")
        let added = try #require(server.reload(startedAfter: second), "no reload after adding a plugin")
        var latest = added
        let deadline = Date().addingTimeInterval(5)
        while (latest["added"] as? [String]) != ["noop"] && Date() < deadline {
            usleep(50_000)
            latest = server.lastReload ?? latest
        }
        #expect(latest["added"] as? [String] == ["noop"], "\(latest)")
        #expect(server.stop() == 0)
    }
}
