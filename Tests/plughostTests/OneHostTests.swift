import Foundation
import PluginRuntime
import PluginTestSupport
import Testing

/// A folder serving the versioned fixture (`/version`) and the cache fixture (`/cache/…`).
private func hostFolder() -> PluginFolder {
    let folder = PluginFolder()
    folder.manifest("versioned/versioned.toml", [("versioned", "libversioned.so:versioned_entry")])
    install(folder, "versioned/v1/libversioned.so", as: "versioned/libversioned.so")
    folder.manifest("cachey/cachey.toml", name: "cachey", [("cachey", "libcachey.so:cachey_entry")])
    install(folder, "libcachey.so", as: "cachey/libcachey.so")
    folder.write("host.toml", "[host]\nenabled = [\"versioned\", \"cachey\"]\n")
    return folder
}

/// The value of the first sample line of `text` that starts with `name{` and contains every one of `labels`.
private func sample(_ text: String, _ name: String, _ labels: [String]) -> Double? {
    text.split(separator: "\n").first { line in
        line.hasPrefix(name + "{") && labels.allSatisfy { line.contains($0) }
    }.flatMap { Double($0.split(separator: " ").last ?? "") }
}

private func waitForWorkers(_ server: ServeProcess, _ count: Int) { ServeHelpers.waitForWorkers(server, count) }

@Suite("One host, however many workers", .serialized)
struct OneHostTests {
    @Test("with 3 workers, every scrape reads the whole host: 12 scrapes after 200 requests all read 200; after kill -9 of a worker and more requests, none reads less")
    func metricsAcrossWorkers() throws {
        let folder = hostFolder()
        let server = try ServeProcess(folder: folder, extraArguments: ["--workers", "3"])
        waitForWorkers(server, 3)
        #expect(server.get("/version").status == 200, "\(server.log)")
        for _ in 0..<199 { _ = server.get("/version") }
        let labels = [#"alias="versioned""#, #"status="2xx""#, "/version"]
        var readings: [Double] = []
        for _ in 0..<12 {
            let scrape = server.get("/_plughost/metrics")
            #expect(scrape.status == 200)
            readings.append(sample(scrape.body, "plughost_http_requests_total", labels) ?? -1)
        }
        #expect(readings.allSatisfy { $0 == 200 }, "\(readings)")
        // Gauges carry the worker; the supervisor's own figures appear once.
        let scrape = server.get("/_plughost/metrics").body
        #expect(scrape.split(separator: "\n").filter { $0.hasPrefix("plughost_generation{worker=") }.count == 3, "\(scrape)")
        #expect(scrape.split(separator: "\n").filter { $0.hasPrefix("plughost_workers ") } == ["plughost_workers 3"], "\(scrape)")

        // One worker is killed; more requests; no scrape may read less than before.
        let listing = try #require(try JSONSerialization.jsonObject(with: Data(server.get("/_plughost/plugins").body.utf8)) as? [String: Any])
        let workers = ((listing["supervisor"] as? [String: Any])?["workers"] as? [[String: Any]]) ?? []
        let victim = try #require((workers.first?["pid"] as? NSNumber)?.int32Value)
        kill(victim, SIGKILL)
        waitForWorkers(server, 3)
        for _ in 0..<50 { _ = server.get("/version") }
        var after: [Double] = []
        for _ in 0..<12 { after.append(sample(server.get("/_plughost/metrics").body, "plughost_http_requests_total", labels) ?? -1) }
        #expect(after.allSatisfy { $0 >= 200 && $0 <= 250 }, "\(after)")
        #expect(after == after.sorted(), "a counter went back: \(after)")
        #expect(server.stop() == 0)
    }

    @Test("/_plughost/plugins shows every worker's generation and plugin states")
    func listingAcrossWorkers() throws {
        let folder = hostFolder()
        let server = try ServeProcess(folder: folder, extraArguments: ["--workers", "3"])
        waitForWorkers(server, 3)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(server.get("/_plughost/plugins").body.utf8)) as? [String: Any])
        let workers = try #require(object["workers"] as? [[String: Any]], "\(object)")
        #expect(workers.count == 3)
        #expect(workers.allSatisfy { ($0["plugins"] as? [[String: Any]])?.contains { $0["alias"] as? String == "cachey" && $0["state"] as? String == "running" } == true })
        let plugins = try #require(object["plugins"] as? [[String: Any]])
        let cachey = try #require(plugins.first { $0["alias"] as? String == "cachey" })
        #expect((cachey["worker_states"] as? [String: String])?.count == 3, "\(cachey)")
        #expect(server.stop() == 0)
    }

    @Test("with 3 workers, one cache: a value set through one worker is read through every worker, survives that worker's death, is gone everywhere after one invalidation; a TTL expires everywhere")
    func sharedCache() throws {
        let folder = hostFolder()
        let server = try ServeProcess(folder: folder, extraArguments: ["--workers", "3"])
        waitForWorkers(server, 3)
        #expect(server.get("/cache/set?key=greeting&value=hello").body == "set")
        // Enough reads to reach every worker (they are spread over three sockets).
        var readers = Set<String>()
        for _ in 0..<60 {
            #expect(server.get("/cache/get?key=greeting").body == "hello")
            readers.insert(server.get("/cache/pid").body)
        }
        #expect(readers.count == 3, "only \(readers.count) worker(s) answered")
        // Every worker dies in turn: the value outlives them.
        for pid in readers.compactMap({ Int32($0) }) {
            kill(pid, SIGKILL)
            waitForWorkers(server, 3)
        }
        #expect((0..<10).allSatisfy { _ in server.get("/cache/get?key=greeting").body == "hello" })
        // One invalidation, through one worker: gone everywhere.
        #expect(server.get("/cache/invalidate?prefix=greet").body == "invalidated")
        #expect((0..<30).allSatisfy { _ in server.get("/cache/get?key=greeting").status == 404 })
        // A TTL expires everywhere.
        #expect(server.get("/cache/set?key=brief&value=x&ttl=300").body == "set")
        #expect(server.get("/cache/get?key=brief").body == "x")
        usleep(400_000)
        #expect((0..<30).allSatisfy { _ in server.get("/cache/get?key=brief").status == 404 })
        #expect(server.stop() == 0)
    }

    @Test("plughost serve --strict with an unloadable plugin exits non-zero within 5 s, naming it, with 1 and 3 workers")
    func strictStartEnds() throws {
        for workers in ["1", "3"] {
            let folder = hostFolder()
            folder.manifest("missing/missing.toml", name: "missing", [("missing", "libmissing.so:missing_entry")])
            folder.write("host.toml", "[host]\nenabled = [\"versioned\", \"missing\"]\n")
            let started = Date()
            let result = try Plughost.run(["serve", "--plugins", folder.path, "--config", folder.path + "/host.toml", "--port", "0",
                                           "--pid-file", folder.path + "/plughost.pid", "--workers", workers, "--strict"])
            #expect(result.status != 0, "\(result.output)")
            #expect(Date().timeIntervalSince(started) < 5, "took \(Date().timeIntervalSince(started)) s")
            #expect(result.output.contains("missing") && result.output.contains("stopping the host"), "\(result.output)")
            #expect(!result.output.contains("accepting connections failed"), "\(result.output)")
        }
    }
}
