import Foundation
import PluginTestSupport
import Testing

/// What an operator sees of isolated plugins: `isolation` (and, with workers,
/// `worker_isolation`) in `/_plughost/plugins`, the MODE column of `plughost list`,
/// MODE, PID, MEMORY and RESTARTS in `plughost status`, the per-plugin gauges in
/// `/_plughost/metrics` (summed over workers), and `plughost validate --isolation process`.
/// The plugin is the fixture `isolated.c` (`GET /iso/pid` answers its process's pid).
@Suite(.serialized)
struct IsolationVisibilityTests {
    /// A folder with `iso` (the isolated fixture, `[isolation.iso] mode = "process"`) and `noop` (in-process).
    private static func folder() -> PluginFolder {
        let folder = PluginFolder()
        folder.copyFixture("isolated/a/libisolated.so", as: "libisolated.so")
        folder.manifest("iso.toml", [("iso", "libisolated.so:isolated_entry")])
        folder.add("noop", library: "libnoop.so", symbol: "noop_entry")
        folder.write("host.toml", "[host]\nenabled = [\"iso\", \"noop\"]\n\n[isolation.iso]\nmode = \"process\"\n")
        return folder
    }

    /// `/_plughost/plugins` as JSON.
    private static func listing(_ serve: ServeProcess) throws -> [String: Any] {
        let reply = serve.get("/_plughost/plugins")
        #expect(reply.status == 200)
        return try #require(try JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any])
    }

    /// The listing's entry for `alias`.
    private static func plugin(_ listing: [String: Any], _ alias: String) -> [String: Any]? {
        (listing["plugins"] as? [[String: Any]])?.first { $0["alias"] as? String == alias }
    }

    /// The samples of a Prometheus text exposition, keyed by name and labels as written.
    private static func samples(_ serve: ServeProcess) -> [String: Double] {
        let (status, body) = serve.get("/_plughost/metrics")
        #expect(status == 200)
        var samples: [String: Double] = [:]
        for line in body.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    /// The parent pid of `pid`, from /proc.
    private static func parent(of pid: Int32) -> Int32? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("PPid:") }) else { return nil }
        return Int32(line.dropFirst(5).trimmingCharacters(in: .whitespaces))
    }

    @Test("one process: the listing, metrics, status and list show where each plugin runs, and the plugin process's pid, memory and restarts")
    func oneProcess() throws {
        let folder = Self.folder()
        let serve = try ServeProcess(folder: folder, extraArguments: ["--workers", "0"])
        OperationsTests.waitUntilReady(serve)
        let answered = serve.get("/iso/pid")
        #expect(answered.status == 200)
        let pid = try #require(Int32(answered.body), "\(answered)")
        #expect(pid != serve.process.processIdentifier)

        let listing = try Self.listing(serve)
        let iso = try #require(Self.plugin(listing, "iso")?["isolation"] as? [String: Any], "\(listing)")
        #expect(iso["mode"] as? String == "process")
        #expect((iso["pid"] as? NSNumber)?.int32Value == pid)
        #expect(((iso["resident_bytes"] as? NSNumber)?.intValue ?? 0) > 0)
        #expect((iso["restarts"] as? NSNumber)?.intValue == 0)
        let noop = try #require(Self.plugin(listing, "noop")?["isolation"] as? [String: Any], "\(listing)")
        #expect(noop.keys.sorted() == ["mode"] && noop["mode"] as? String == "in-process", "\(noop)")
        #expect(Self.plugin(listing, "iso")?["worker_isolation"] == nil, "no workers, no worker_isolation")

        let metrics = Self.samples(serve)
        #expect(metrics[#"plughost_plugin_isolated{alias="iso"}"#] == 1)
        #expect(metrics[#"plughost_plugin_isolated{alias="noop"}"#] == 0)
        #expect(metrics[#"plughost_plugin_process_resident_bytes{alias="iso"}"#].map { $0 > 0 } == true, "\(metrics)")
        #expect(metrics[#"plughost_plugin_process_restarts{alias="iso"}"#] == 0)
        #expect(metrics[#"plughost_plugin_process_resident_bytes{alias="noop"}"#] == nil, "an in-process plugin has no plugin process")

        let status = try Plughost.run(["status", "--pid-file", serve.pidFile])
        #expect(status.status == 0, "\(status.output)")
        let lines = status.output.split(separator: "\n")
        let header = try #require(lines.first { $0.hasPrefix("ALIAS ") }, "\(status.output)")
        #expect(header.contains("MODE") && header.contains("PID") && header.contains("MEMORY") && header.contains("RESTARTS"), "\(header)")
        let isoRow = try #require(lines.first { $0.hasPrefix("iso ") }, "\(status.output)")
        let cells = isoRow.split(separator: " ")
        #expect(cells.contains("running") && cells.contains("process") && cells.contains(Substring(String(pid))) && isoRow.contains(" MiB"), "\(isoRow)")
        #expect(cells.last == "0", "restarts: \(isoRow)")
        let noopRow = try #require(lines.first { $0.hasPrefix("noop ") }, "\(status.output)")
        #expect(noopRow.contains("in-process"), "\(noopRow)")

        let list = try Plughost.run(["list", "--plugins", folder.path, "--config", folder.path + "/host.toml"])
        #expect(list.status == 0, "\(list.output)")
        let listLines = list.output.split(separator: "\n")
        #expect(listLines.first?.contains("MODE") == true, "\(list.output)")
        #expect(listLines.contains { $0.hasPrefix("iso ") && $0.contains(" process") && !$0.contains("in-process") }, "\(list.output)")
        #expect(listLines.contains { $0.hasPrefix("noop ") && $0.contains("in-process") }, "\(list.output)")
        #expect(serve.stop() == 0)
    }

    @Test("a plugin process that dies is restarted: the listing and the metrics show the new pid and one restart")
    func restartShown() throws {
        let folder = Self.folder()
        let serve = try ServeProcess(folder: folder, extraArguments: ["--workers", "0"])
        OperationsTests.waitUntilReady(serve)
        let first = try #require(Int32(serve.get("/iso/pid").body))
        // Answered 503 at once; the connection may stay open a while (the restarted plugin process
        // can inherit it from the worker), so no waiting for its end.
        _ = try? RawHTTP.send("GET /iso/segv HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", port: serve.port, timeout: 2)
        var second: Int32?
        ServeHelpers.wait(20) {
            let reply = serve.get("/iso/pid")
            second = reply.status == 200 ? Int32(reply.body) : nil
            return second != nil && second != first
        }
        let restarted = try #require(second, "the plugin process was not restarted:\n\(serve.log)")
        #expect(restarted != first)
        let iso = try #require(Self.plugin(try Self.listing(serve), "iso")?["isolation"] as? [String: Any])
        #expect((iso["pid"] as? NSNumber)?.int32Value == restarted)
        #expect((iso["restarts"] as? NSNumber)?.intValue == 1, "\(iso)")
        #expect(Self.samples(serve)[#"plughost_plugin_process_restarts{alias="iso"}"#] == 1)
        let status = try Plughost.run(["status", "--pid-file", serve.pidFile])
        let row = try #require(status.output.split(separator: "\n").first { $0.hasPrefix("iso ") }, "\(status.output)")
        #expect(row.split(separator: " ").contains(Substring(String(restarted))) && row.split(separator: " ").last == "1", "\(row)")
        #expect(serve.stop() == 0)
    }

    @Test("--workers 2: each worker's own plugin process is listed under worker_isolation, status shows both pids, metrics sum them")
    func twoWorkers() throws {
        let folder = Self.folder()
        let serve = try ServeProcess(folder: folder, extraArguments: ["--workers", "2"])
        ServeHelpers.waitForWorkers(serve, 2)
        OperationsTests.waitUntilReady(serve)
        var byWorker: [String: [String: Any]] = [:]
        ServeHelpers.wait(20) {
            byWorker = ((try? Self.listing(serve)).flatMap { Self.plugin($0, "iso")?["worker_isolation"] as? [String: [String: Any]] }) ?? [:]
            return byWorker.count == 2 && byWorker.values.allSatisfy { $0["pid"] != nil }
        }
        #expect(byWorker.count == 2, "\(byWorker)")
        var pids: Set<Int32> = []
        var residentTotal = 0
        for (worker, isolation) in byWorker {
            #expect(isolation["mode"] as? String == "process")
            let pid = try #require((isolation["pid"] as? NSNumber)?.int32Value, "\(isolation)")
            pids.insert(pid)
            #expect(String(pid) != worker)
            // Each worker starts its own plugin process.
            #expect(Self.parent(of: pid).map(String.init) == worker, "plugin process \(pid) is not worker \(worker)'s")
            residentTotal += (isolation["resident_bytes"] as? NSNumber)?.intValue ?? 0
            #expect((isolation["restarts"] as? NSNumber)?.intValue == 0)
        }
        #expect(pids.count == 2, "two workers, two plugin processes: \(byWorker)")
        let listing = try Self.listing(serve)
        let workerRows = try #require(listing["workers"] as? [[String: Any]])
        #expect(workerRows.allSatisfy { (($0["plugins"] as? [[String: Any]]) ?? []).contains { $0["alias"] as? String == "iso" && $0["isolation"] != nil } })
        #expect(Self.plugin(listing, "noop")?["worker_isolation"].map { ($0 as? [String: [String: Any]])?.values.allSatisfy { $0["mode"] as? String == "in-process" } } == true)

        // The host's figures: resident bytes and restarts summed over the workers, no worker label.
        let metrics = Self.samples(serve)
        let resident = try #require(metrics[#"plughost_plugin_process_resident_bytes{alias="iso"}"#], "\(metrics.keys.sorted())")
        #expect(abs(resident - Double(residentTotal)) < Double(residentTotal) * 0.25, "summed \(resident), listed \(residentTotal)")
        #expect(metrics[#"plughost_plugin_process_restarts{alias="iso"}"#] == 0)
        #expect(metrics[#"plughost_plugin_isolated{alias="iso"}"#] == 1)
        #expect(metrics[#"plughost_plugin_isolated{alias="noop"}"#] == 0)
        #expect(!metrics.keys.contains { $0.hasPrefix("plughost_plugin_process_") && $0.contains("worker=") }, "\(metrics.keys.sorted())")

        let status = try Plughost.run(["status", "--pid-file", serve.pidFile])
        #expect(status.status == 0, "\(status.output)")
        let row = try #require(status.output.split(separator: "\n").first { $0.hasPrefix("iso ") }, "\(status.output)")
        let shown = try #require(row.split(separator: " ").first { $0.contains(",") }, "\(row)")
        #expect(Set(shown.split(separator: ",").compactMap { Int32($0) }) == pids, "\(row)")
        #expect(serve.stop() == 0 || ServeHelpers.sanitized)
    }

    /// A folder for `validate`: the isolated fixture under alias `iso`.
    private static func validateFolder() -> PluginFolder {
        let folder = PluginFolder()
        folder.copyFixture("isolated/a/libisolated.so", as: "libisolated.so")
        folder.manifest("iso.toml", [("iso", "libisolated.so:isolated_entry")])
        return folder
    }

    @Test("validate --isolation process runs the host test with the plugin in a plugin process, and says so")
    func validateIsolated() throws {
        let folder = Self.validateFolder()
        let isolated = try Plughost.run(["validate", "--only", "host", "--isolation", "process", folder.path])
        #expect(isolated.status == 0, "\(isolated.output)")
        let line = try #require(isolated.output.split(separator: "\n").first { $0.hasPrefix("PASS iso host") }, "\(isolated.output)")
        #expect(line.contains("isolation: process, plugin process pid "), "\(line)")

        let plain = try Plughost.run(["validate", "--only", "host", folder.path])
        #expect(plain.status == 0, "\(plain.output)")
        #expect(plain.output.contains("PASS iso host: started, reloaded and stopped (isolation: in-process)"), "\(plain.output)")

        // In the validator's own process too, and in the JSON report.
        let json = try Plughost.run(["validate", "--only", "host", "--isolation", "process", "--in-process", "--json", folder.path])
        #expect(json.status == 0, "\(json.output)")
        // The host's log lines (standard error) come before the report.
        let document = try #require(json.output.range(of: "{\n").map { json.output[$0.lowerBound...] }, "\(json.output)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(document.utf8)) as? [String: Any], "\(json.output)")
        #expect(report["isolation"] as? String == "process")
        let test = try #require((report["tests"] as? [[String: Any]])?.first)
        #expect(((test["result"] as? [String: Any])?["reason"] as? String)?.contains("isolation: process") == true, "\(test)")

        // A config's [isolation.ALIAS] is used without the option, and the option overrides it.
        let configFolder = PluginFolder()
        configFolder.write("host.toml", "[isolation.iso]\nmode = \"process\"\nmemory-mb = 128\n")
        let configured = try Plughost.run(["validate", "--only", "host", "--config", configFolder.path + "/host.toml", folder.path])
        #expect(configured.output.contains("PASS iso host") && configured.output.contains("isolation: process"), "\(configured.output)")
        let overridden = try Plughost.run(["validate", "--only", "host", "--config", configFolder.path + "/host.toml", "--isolation", "in-process", folder.path])
        #expect(overridden.output.contains("PASS iso host") && overridden.output.contains("isolation: in-process"), "\(overridden.output)")

        let bad = try Plughost.run(["validate", "--only", "host", "--isolation", "sandboxed", folder.path])
        #expect(bad.status != 0 && bad.output.contains("--isolation"), "\(bad.output)")
    }
}
