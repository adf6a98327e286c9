import Foundation
import Logging
import Synchronization
import PluginRuntime
import PluginHTTPExtension
import PluginTestSupport
import Testing

/// A runtime over a temporary folder whose host config lives in `host.toml`, so a reload reads it again.
private final class ReloadBench: @unchecked Sendable {
    // @unchecked Sendable: set up by the test before any other thread sends requests through `get`.
    let folder = PluginFolder()
    private(set) var runtime: PluginRuntime!

    var configPath: String { folder.path + "/host.toml" }

    /// Installs build `build` of fixture `fixture` (e.g. "versioned", "v1") as `<fixture>/lib<fixture>.so`, by rename.
    func install(_ fixture: String, build: String) {
        let target = folder.path + "/\(fixture)/lib\(fixture).so"
        try? FileManager.default.createDirectory(atPath: folder.path + "/\(fixture)", withIntermediateDirectories: true)
        let staging = target + ".new"
        try? FileManager.default.removeItem(atPath: staging)
        try! FileManager.default.copyItem(atPath: Fixtures.library("\(fixture)/\(build)/lib\(fixture).so"), toPath: staging)
        precondition(rename(staging, target) == 0)
    }

    /// Declares `alias` for the fixture in its own manifest.
    func declare(_ alias: String, fixture: String, symbol: String) {
        folder.manifest("\(fixture)/\(alias).toml", [(alias, "lib\(fixture).so:\(symbol)")])
    }

    /// Serves build v1 of `fixture` as the only enabled alias; `hostExtra` is appended to `[host]`.
    func serving(_ fixture: String = "versioned", alias: String = "versioned", symbol: String = "versioned_entry",
                 hostExtra: String = "") throws -> PluginRuntime {
        install(fixture, build: "v1")
        declare(alias, fixture: fixture, symbol: symbol)
        return try start(config: "[host]\nenabled = [\"\(alias)\"]\n" + hostExtra)
    }

    func start(config: String) throws -> PluginRuntime {
        folder.write("host.toml", config)
        var logger = Logger(label: "reload-test")
        logger.logLevel = .critical
        runtime = PluginRuntime(pluginsDirectory: folder.path, config: try HostConfig.load(path: configPath),
                                servesHTTP: true, logger: logger)
        try runtime.start()
        return runtime
    }

    /// Serves `GET target` (a path, maybe with `?query`) on the current generation.
    func get(_ target: String) -> (status: Int, body: String) {
        let parts = target.split(separator: "?", maxSplits: 1).map(String.init)
        let request = PluginHTTPRequest(method: "GET", path: parts[0], query: parts.count > 1 ? parts[1] : "")
        let response = runtime.withCurrentGeneration { $0.handle(request) }
        guard let response else { return (0, "") }
        return (response.status, String(decoding: response.body, as: UTF8.self))
    }
}

@Suite("Reloading a running PluginRuntime")
struct ReloadTests {
    /// Serves build v1 of `fixture` as `alias`, counts `calls` requests on `countPath`, installs v2 and reloads.
    private func swapCounting(_ fixture: String, alias: String, symbol: String, countPath: String,
                              calls: Int) throws -> (ReloadBench, PluginRuntime, ReloadReport) {
        let bench = ReloadBench()
        let runtime = try bench.serving(fixture, alias: alias, symbol: symbol)
        for _ in 0..<calls { _ = bench.get(countPath) }
        bench.install(fixture, build: "v2")
        return (bench, runtime, runtime.reload())
    }

    @Test("a C plugin hands its counter to the new build; plugin-reloaded names both versions")
    func cStateHandoff() throws {
        let (bench, runtime, report) = try swapCounting("versioned", alias: "versioned", symbol: "versioned_entry", countPath: "/count", calls: 3)
        defer { runtime.shutdown() }
        #expect(report.succeeded, "\(report)")
        #expect(report.changed == ["versioned"] && report.stateHandedOver == ["versioned"], "\(report)")
        #expect(report.generation == 2)
        #expect(bench.get("/version").body == "v2")
        #expect(bench.get("/count").body == "4")
        #expect(bench.get("/events").body.contains("plughost.plugin-reloaded versioned 1 2"), "\(bench.get("/events").body)")
        #expect(runtime.statuses.of("versioned")?.version == "2")
        #expect(runtime.retainedSwiftImages == 0)

        // Nothing changed on disk: nothing is rebuilt, the generation stays.
        let again = runtime.reload()
        #expect(again.succeeded && again.unchanged == ["versioned"] && again.changed.isEmpty && again.generation == 2, "\(again)")
    }

    @Test("a Swift plugin hands its counter to the new build; the old image stays mapped and is counted")
    func swiftStateHandoff() throws {
        let (bench, runtime, report) = try swapCounting("swift_versioned", alias: "sv", symbol: "swift_versioned_entry",
                                                        countPath: "/swift/count", calls: 5)
        defer { runtime.shutdown() }
        #expect(report.succeeded && report.stateHandedOver == ["sv"], "\(report)")
        #expect(bench.get("/swift/version").body == "swift v2")
        #expect(bench.get("/swift/count").body == "6")
        #expect(runtime.retainedSwiftImages == 1)
        #expect(report.retainedSwiftImages == 1)
    }

    @Test("a removed plugin's endpoints answer 404; an added one serves; the others are not re-created")
    func removeAndAdd() throws {
        let bench = ReloadBench()
        bench.folder.addRecorder("rec")
        bench.install("versioned", build: "v1")
        bench.declare("versioned", fixture: "versioned", symbol: "versioned_entry")
        let config = "[plugin.rec]\nlog = \"\(bench.folder.log)\"\n"  // no `enabled`: every alias loads
        let runtime = try bench.start(config: config)
        defer { runtime.shutdown() }
        #expect(bench.get("/version").status == 200)

        try FileManager.default.removeItem(atPath: bench.folder.path + "/versioned/versioned.toml")
        let removal = runtime.reload()
        #expect(removal.succeeded && removal.removed == ["versioned"] && removal.unchanged == ["rec"], "\(removal)")
        #expect(bench.get("/version").status == 404)
        #expect(runtime.statuses.of("versioned") == nil)

        bench.declare("back", fixture: "versioned", symbol: "versioned_entry")
        let addition = runtime.reload()
        #expect(addition.succeeded && addition.added == ["back"] && addition.unchanged == ["rec"], "\(addition)")
        #expect(bench.get("/version").body == "v1")
        #expect(runtime.statuses.of("back")?.state == .running)

        let events = bench.folder.events()
        #expect(events.filter { $0 == "rec create" }.count == 1, "rec was re-created: \(events)")
        #expect(events.contains("rec plughost.plugin-unloaded versioned"))
        #expect(events.contains("rec plughost.plugin-loaded back"))
    }

    @Test("a failing restore_state keeps the old generation serving; reload-failed reaches the old plugins")
    func failedHandoffKeepsOld() throws {
        let bench = ReloadBench()
        let runtime = try bench.serving()
        defer { runtime.shutdown() }
        _ = bench.get("/count")

        // A config change rebuilds the plugin (same library); its restore_state refuses.
        bench.folder.write("host.toml", "[host]\nenabled = [\"versioned\"]\n[plugin.versioned]\nrefuse-state = true\n")
        let report = runtime.reload()
        #expect(!report.succeeded)
        let problem = try #require(report.problems.first)
        #expect(problem.code == .stateHandoffFailed && problem.alias == "versioned", "\(problem)")
        #expect(problem.reason.contains("refusing the state of version 1"), "\(problem)")
        #expect(report.generation == 1)
        #expect(bench.get("/count").body == "2")
        #expect(bench.get("/events").body.contains("plughost.reload-failed"), "\(bench.get("/events").body)")
        #expect(runtime.lastReload?.succeeded == false)
        #expect(runtime.config.pluginConfigs["versioned"] == nil, "the refused config must not be in force")
    }

    @Test("a bad host config or manifest fails the reload with its file and keeps everything")
    func badInputsKeepOld() throws {
        let bench = ReloadBench()
        let runtime = try bench.serving()
        defer { runtime.shutdown() }

        bench.folder.write("host.toml", "[host]\nenabled = [\"versioned\"\n")
        let badConfig = runtime.reload()
        #expect(!badConfig.succeeded && badConfig.problems.first?.file == bench.configPath, "\(badConfig)")

        bench.folder.write("host.toml", "[host]\nenabled = [\"versioned\"]\n")
        bench.folder.write("versioned/versioned.toml", "[plugin\nname=")
        let badManifest = runtime.reload()
        #expect(!badManifest.succeeded && badManifest.problems.first?.file.hasSuffix("versioned.toml") == true, "\(badManifest)")
        #expect(bench.get("/version").body == "v1")

        bench.declare("versioned", fixture: "versioned", symbol: "versioned_entry")
        try Data("not a library".utf8).write(to: URL(fileURLWithPath: bench.folder.path + "/versioned/libversioned.so"))
        let badLibrary = runtime.reload()
        #expect(!badLibrary.succeeded, "\(badLibrary)")
        #expect(badLibrary.problems.first?.code == .notASharedLibrary && badLibrary.problems.first?.alias == "versioned", "\(badLibrary)")
        #expect(bench.get("/version").body == "v1")
        #expect(runtime.statuses.of("versioned")?.state == .running)
    }

    @Test("an ABI 1.0 plugin reloads without the host reading the 1.1 members past its descriptor")
    func legacyPluginReloads() throws {
        let bench = ReloadBench()
        bench.folder.add("leg", library: "liblegacy.so", symbol: "legacy_entry")
        let runtime = try bench.start(config: "[host]\nenabled = [\"leg\"]\n[plugin.leg]\nsize = 1\n")
        defer { runtime.shutdown() }
        #expect(runtime.statuses.of("leg")?.abi == "1.0")

        bench.folder.write("host.toml", "[host]\nenabled = [\"leg\"]\n[plugin.leg]\nsize = 2\n")
        let report = runtime.reload()  // state handoff is tried: reading garbage there would crash
        #expect(report.succeeded && report.changed == ["leg"] && report.stateHandedOver.isEmpty, "\(report)")
    }

    @Test("a request outliving the drain timeout finishes on the old build, which is destroyed only after it")
    func drainTimeout() throws {
        let bench = ReloadBench()
        let runtime = try bench.serving(hostExtra: "drain-timeout-ms = 50\n")
        defer { runtime.shutdown() }

        let slow = Mutex<(Int, String)?>(nil)
        let request = Thread { slow.withLock { $0 = bench.get("/slow?ms=600") } }
        request.start()
        usleep(100_000)  // the request is inside the old build now
        bench.install("versioned", build: "v2")
        let report = runtime.reload()
        #expect(report.succeeded && report.drainTimedOut, "\(report)")
        #expect(runtime.lingeringGenerations == 1)
        #expect(bench.get("/version").body == "v2")

        let deadline = Date().addingTimeInterval(10)
        while (slow.withLock { $0 } == nil || runtime.lingeringGenerations > 0) && Date() < deadline { usleep(10_000) }
        let answer = try #require(slow.withLock { $0 })
        #expect(answer.0 == 200 && answer.1 == "v1", "\(answer)")
        #expect(runtime.lingeringGenerations == 0, "the old build was not destroyed after its last request")
    }

    @Test("a plugin using a replaced plugin's service is re-created with it")
    func dependentsRecreated() throws {
        let examples = Fixtures.examples
        let folder = PluginFolder()
        let configText = try String(contentsOfFile: Fixtures.repositoryRoot + "/plughost.toml", encoding: .utf8)
        folder.write("host.toml", configText)
        let runtime = PluginRuntime(pluginsDirectory: examples, config: try HostConfig.load(path: folder.path + "/host.toml"),
                                    servesHTTP: true, logger: Logger(label: "quiet", factory: { _ in SwiftLogNoOpLogHandler() }))
        try runtime.start()
        defer { runtime.shutdown() }

        folder.write("host.toml", configText.replacingOccurrences(of: "deny = [\"mallory\"]", with: "deny = [\"mallory\", \"eve\"]"))
        let report = runtime.reload()
        #expect(report.succeeded, "\(report)")
        #expect(report.changed == ["audit"] && report.recreated == ["greeter"], "\(report)")
        #expect(Set(report.unchanged) == ["timing", "auth", "calc", "later"], "\(report)")
    }
}

@Suite("Reloading in two phases (prepare, then commit or abort)")
struct TwoPhaseReloadTests {
    @Test("commit and abort called at once decide once: one outcome for both, and the next reload runs")
    func concurrentVerdicts() throws {
        let bench = ReloadBench()
        let runtime = try bench.serving()
        defer { runtime.shutdown() }
        bench.install("versioned", build: "v2")
        let prepared = runtime.prepareReload()
        #expect(prepared.awaitsVerdict)
        #expect(bench.get("/version").body == "v1", "the old generation serves until the verdict")
        let reports = Mutex<[Int: ReloadReport]>([:])
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            let report = index == 0 ? prepared.commit() : prepared.abort("the other verdict")
            reports.withLock { $0[index] = report }
        }
        let (committed, aborted) = reports.withLock { ($0[0]!, $0[1]!) }
        #expect(committed.succeeded == aborted.succeeded && committed.startedAt == aborted.startedAt, "\(committed)\n\(aborted)")
        #expect(bench.get("/version").body == (committed.succeeded ? "v2" : "v1"))
        _ = prepared.waitForDrain()
        bench.install("versioned", build: committed.succeeded ? "v1" : "v2")
        let next = runtime.reload()
        #expect(next.succeeded, "\(next)")
        #expect(runtime.reloadCount == 2, "each reload recorded once")
    }

    @Test("a prepared reload dropped without a verdict is undone, and the next reload does not wait for it")
    func droppedWithoutVerdict() throws {
        let bench = ReloadBench()
        let runtime = try bench.serving()
        defer { runtime.shutdown() }
        bench.install("versioned", build: "v2")
        do {
            let prepared = runtime.prepareReload()
            #expect(prepared.awaitsVerdict)
        }
        #expect(bench.get("/version").body == "v1")
        #expect(runtime.lastReload?.succeeded == false && runtime.lastReload?.problems.first?.reason == "dropped without a verdict",
                "\(String(describing: runtime.lastReload))")
        let finished = DispatchSemaphore(value: 0)
        let outcome = Mutex<ReloadReport?>(nil)
        DispatchQueue.global().async {
            let report = runtime.reload()
            outcome.withLock { $0 = report }
            finished.signal()
        }
        #expect(finished.wait(timeout: .now() + 20) == .success, "the next reload waited for a dropped one")
        #expect(outcome.withLock { $0?.succeeded } == true)
        #expect(bench.get("/version").body == "v2")
    }
}
