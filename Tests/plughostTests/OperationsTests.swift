import Foundation
import Synchronization
import PluginTestSupport
import Testing

/// Operating a host: the Prometheus exposition after known traffic, the probes
/// through start, serve and shutdown, JSON log lines, and `plughost status`.
@Suite(.serialized)
struct OperationsTests {
    /// A sanitizer build: there the supervisor of these worker-mode runs exited 1 (seen under
    /// AddressSanitizer; a leak report at a worker's exit is the likely cause), so only its own builds check the status.
    static let sanitized = dlsym(nil, "__asan_init") != nil || dlsym(nil, "__tsan_init") != nil

    /// `plughost serve` over the example plugins with the repository's plughost.toml.
    private static func serveExamples(_ folder: PluginFolder, _ arguments: [String] = []) throws -> ServeProcess {
        try ServeProcess(folder: folder, extraArguments: ["--plugins", Fixtures.examples,
                                                          "--config", Fixtures.repositoryRoot + "/plughost.toml"] + arguments)
    }

    /// Waits until `/_plughost/ready` answers 200 (the server answers before the plugins have started).
    static func waitUntilReady(_ serve: ServeProcess) {
        let deadline = Date().addingTimeInterval(20)
        while serve.get("/_plughost/ready").status != 200 && Date() < deadline { usleep(20_000) }
    }

    /// The samples of a Prometheus text exposition, keyed by name and labels as written.
    private static func samples(_ text: String) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    private static func scrape(_ serve: ServeProcess) -> [String: Double] {
        let (status, body) = serve.get("/_plughost/metrics")
        #expect(status == 200)
        return samples(body)
    }

    @Test("metrics count requests by endpoint and status class, denies, short-circuits, events and reloads exactly")
    func metricsAfterKnownTraffic() throws {
        let folder = PluginFolder()
        let serve = try Self.serveExamples(folder, ["--workers", "0"])
        Self.waitUntilReady(serve)
        let before = Self.scrape(serve)
        for _ in 0..<3 { #expect(serve.get("/hello?name=bob").status == 200) }
        for _ in 0..<2 { #expect(serve.get("/hello?name=mallory").status == 403) }
        for _ in 0..<2 { #expect(serve.get("/api/greeting").status == 401) }
        #expect(serve.get("/no/such/path").status == 404)
        let reloadStatus = serve.send("POST /_plughost/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").status
        #expect(reloadStatus == 200)
        let after = Self.scrape(serve)
        func delta(_ key: String) -> Double { after[key, default: 0] - before[key, default: 0] }

        #expect(delta(#"plughost_http_requests_total{alias="greeter",endpoint="GET /hello",status="2xx"}"#) == 3)
        #expect(delta(#"plughost_http_requests_total{alias="greeter",endpoint="GET /hello",status="4xx"}"#) == 2)
        #expect(delta(#"plughost_http_requests_total{alias="greeter",endpoint="GET /api/greeting",status="4xx"}"#) == 2)
        #expect(delta(#"plughost_http_request_duration_seconds_count{alias="greeter",endpoint="GET /hello"}"#) == 5)
        #expect(delta(#"plughost_wrapper_short_circuits_total{alias="auth",wrapper="bearer-auth",endpoint="GET /api/greeting"}"#) == 2)
        #expect(delta(#"plughost_wrapper_short_circuits_total{alias="timing",wrapper="timing",endpoint="GET /hello"}"#) == 0)
        #expect(delta(#"plughost_http_unrouted_requests_total{status="4xx"}"#) == 1)
        #expect(delta(#"plughost_check_verdicts_total{event="access.check",alias="audit",verdict="deny"}"#) == 2)
        #expect(delta(#"plughost_check_verdicts_total{event="access.check",alias="audit",verdict="allow"}"#) == 3)
        #expect(delta(#"plughost_events_published_total{event="greeter.greeted"}"#) == 3)
        #expect(delta(#"plughost_reloads_total{outcome="succeeded"}"#) == 1)
        #expect(after[#"plughost_reloads_total{outcome="failed"}"#] == 0)
        #expect(after[#"plughost_plugins{state="running"}"#] == 6)
        #expect(after[#"plughost_plugin_errors_total{alias="greeter"}"#] == 0)
        #expect(after["plughost_reload_duration_seconds_count"] == 1)
        // Alone (--workers 0) there is no supervisor, and none of its figures.
        #expect(after["plughost_workers"] == nil)
        #expect(serve.stop() == 0)
    }

    @Test("metrics count what a subscriber was handed: delivered is published times its subscribers")
    func eventsPublishedAndDelivered() throws {
        let folder = PluginFolder()
        let serve = try Self.serveExamples(folder, ["--workers", "0"])
        Self.waitUntilReady(serve)
        let before = Self.scrape(serve)
        for _ in 0..<4 { #expect(serve.get("/hello?name=ann").status == 200) }
        let after = Self.scrape(serve)
        func delta(_ key: String) -> Double { after[key, default: 0] - before[key, default: 0] }
        // greeter publishes greeter.greeted per greeting; audit is its one subscriber.
        #expect(delta(#"plughost_events_published_total{event="greeter.greeted"}"#) == 4)
        #expect(delta(#"plughost_events_delivered_total{event="greeter.greeted"}"#) == 4)
        // The host fires request-received only when a plugin listens; none of the examples does.
        #expect(delta(#"plughost_events_published_total{event="plughost.request-received"}"#) == 0)
        #expect(serve.stop() == 0)
    }

    @Test("with a worker, the supervisor's figures are exported: workers serving, restarts, quarantines")
    func supervisorMetrics() throws {
        let folder = PluginFolder()
        let serve = try Self.serveExamples(folder)
        Self.waitUntilReady(serve)
        var samples = Self.scrape(serve)
        let deadline = Date().addingTimeInterval(10)
        while samples["plughost_workers"] == nil && Date() < deadline {
            usleep(50_000)
            samples = Self.scrape(serve)
        }
        #expect(samples["plughost_workers"] == 1)
        #expect(samples["plughost_worker_restarts_total"] == 0)
        #expect(samples["plughost_quarantined_plugins"] == 0)
        let status = serve.stop()
        #expect(status == 0 || Self.sanitized)
    }

    @Test("metrics are off with [host] metrics = false: the path answers 404 and nothing is counted")
    func metricsOff() throws {
        let folder = PluginFolder()
        folder.addRecorder("rec")
        folder.write("host.toml", "[host]\nenabled = [\"rec\"]\nmetrics = false\n[plugin.rec]\nlog = \"\(folder.log)\"\n")
        let serve = try ServeProcess(folder: folder, extraArguments: ["--workers", "0"])
        #expect(serve.get("/_plughost/metrics").status == 404)
        #expect(serve.stop() == 0)
    }

    @Test("ready answers 503 while the plugins start (health 200) and 200 once they run; a plugin request that comes meanwhile waits for the start")
    func probesThroughStartServeAndShutdown() throws {
        let folder = PluginFolder()
        _ = folder.copyFixture("versioned/v1/libversioned.so", as: "libversioned.so")
        folder.manifest("slow.toml", [("slow", "libversioned.so:versioned_entry")])
        folder.write("host.toml", "[host]\nenabled = [\"slow\"]\n\n[plugin.slow]\ncreate-delay-ms = 1500\n")
        // --workers 0 logs "serving HTTP on" as soon as it listens, before the plugins start.
        let serve = try ServeProcess(folder: folder, extraArguments: ["--workers", "0"])
        let starting = serve.get("/_plughost/ready")
        #expect(starting.status == 503)
        #expect(starting.body.contains(#""phase":"starting""#))
        #expect(serve.get("/_plughost/health").status == 200)
        // A plugin request that comes during the start is served once the plugin runs, not refused.
        let early = serve.get("/version")
        #expect(early.status == 200 && early.body == "v1")
        let ready = serve.get("/_plughost/ready")
        #expect(ready.status == 200)
        #expect(ready.body.contains(#""phase":"serving""#))
        #expect(serve.stop() == 0)
    }

    @Test("with a worker, ready answers 503 from SIGTERM on while the worker still finishes its requests")
    func readyDuringShutdown() throws {
        let folder = PluginFolder()
        _ = folder.copyFixture("versioned/v1/libversioned.so", as: "libversioned.so")
        folder.manifest("slow.toml", [("slow", "libversioned.so:versioned_entry")])
        folder.write("host.toml", "[host]\nenabled = [\"slow\"]\n")
        let serve = try ServeProcess(folder: folder)
        #expect(serve.get("/_plughost/ready").status == 200)
        // A request in flight at SIGTERM (on a thread of its own, sent before the signal).
        let slowAnswer = Mutex<String?>(nil)
        let slowDone = DispatchSemaphore(value: 0)
        let slowConnection = try RawHTTP.connect(port: serve.port)
        DispatchQueue.global().async {
            let reply = try? RawHTTP.exchange(fd: slowConnection, "GET /slow?ms=1500 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            slowAnswer.withLock { $0 = reply }
            close(slowConnection)
            slowDone.signal()
        }
        // A connection accepted before SIGTERM (a worker gives such connections a second to send) asks ready after it.
        let connection = try RawHTTP.connect(port: serve.port)
        defer { close(connection) }
        usleep(300_000)
        kill(serve.process.processIdentifier, SIGTERM)
        usleep(300_000)
        let stopping = try RawHTTP.exchange(fd: connection, "GET /_plughost/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(stopping.hasPrefix("HTTP/1.1 503"))
        #expect(stopping.contains(#""phase":"stopping""#))
        serve.process.waitUntilExit()
        slowDone.wait()
        let slow = slowAnswer.withLock { $0 } ?? ""
        #expect(slow.hasPrefix("HTTP/1.1 200") && slow.hasSuffix("v1"), "the request in flight at SIGTERM was finished: \(slow)")
    }

    @Test("ready answers 503 naming an enabled alias that failed to start")
    func readyNamesFailedPlugins() throws {
        let folder = PluginFolder()
        folder.addRecorder("good")
        folder.addRecorder("bad")
        folder.write("host.toml", "[host]\nenabled = [\"good\", \"bad\"]\n\n[plugin.good]\nlog = \"\(folder.log)\"\n\n[plugin.bad]\nlog = \"\(folder.log)\"\nreject = true\n")
        let serve = try ServeProcess(folder: folder, extraArguments: ["--workers", "0"])
        var answer = serve.get("/_plughost/ready")
        let deadline = Date().addingTimeInterval(10)
        while answer.body.contains(#""phase":"starting""#) && Date() < deadline {
            usleep(20_000)
            answer = serve.get("/_plughost/ready")
        }
        #expect(answer.status == 503)
        #expect(answer.body.contains(#""bad":"#) && answer.body.contains("refused"))
        #expect(serve.stop() == 0)
    }

    @Test("probes follow the admin rule, loopback always; probe-access = anywhere lets any client ask",
          .enabled(if: RawHTTP.nonLoopbackAddress() != nil, "this machine has no non-loopback address to ask from"))
    func probeAccess() throws {
        let address = try #require(RawHTTP.nonLoopbackAddress())
        for (access, expected) in [("admin", 403), ("anywhere", 200)] {
            let folder = PluginFolder()
            folder.addRecorder("rec")
            folder.write("host.toml", "[host]\nenabled = [\"rec\"]\nprobe-access = \"\(access)\"\n[plugin.rec]\nlog = \"\(folder.log)\"\n")
            let serve = try ServeProcess(folder: folder, extraArguments: ["--workers", "0", "--host", "0.0.0.0"])
            #expect(serve.get("/_plughost/health").status == 200)
            let remote = try RawHTTP.send("GET /_plughost/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", port: serve.port, host: address)
            #expect(remote.hasPrefix("HTTP/1.1 \(expected)"), "probe-access = \(access): \(remote)")
            let plugins = try RawHTTP.send("GET /_plughost/plugins HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", port: serve.port, host: address)
            #expect(plugins.hasPrefix("HTTP/1.1 403"))
            #expect(serve.stop() == 0)
        }
    }

    @Test("--log-format json writes one JSON object per line, with the plugin's alias on its lines")
    func jsonLogs() throws {
        let folder = PluginFolder()
        let serve = try Self.serveExamples(folder, ["--workers", "0", "--log-format", "json"])
        #expect(serve.get("/hello?name=bob").status == 200)
        #expect(serve.stop() == 0)
        let lines = serve.log.split(separator: "\n")
        #expect(lines.count > 5)
        var aliases = Set<String>()
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object != nil, "not a JSON object: \(line)")
            for key in ["time", "level", "label", "message"] { #expect(object?[key] is String, "\(key) missing in \(line)") }
            if let alias = object?["alias"] as? String { aliases.insert(alias) }
        }
        #expect(aliases.contains("greeter"))
    }

    @Test("plughost status prints the running host's plugins as a table")
    func statusTable() throws {
        let folder = PluginFolder()
        let serve = try Self.serveExamples(folder)
        let result = try Plughost.run(["status", "--pid-file", serve.pidFile])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("ready"))
        for alias in ["timing", "auth", "audit", "greeter", "calc", "later"] {
            #expect(result.output.split(separator: "\n").contains { $0.hasPrefix(alias + " ") && $0.contains("running") }, "\(alias) in:\n\(result.output)")
        }
        let status = serve.stop()
        #expect(status == 0 || Self.sanitized)
        let gone = try Plughost.run(["status", "--pid-file", serve.pidFile])
        #expect(gone.status != 0)
    }
}
