import Foundation
import PluginRuntime
import PluginTestSupport
import Synchronization
import Testing

/// A folder serving the crashing fixture (build `build`) beside a healthy plugin (`/version`).
private func crashFolder(build: String = "a") -> PluginFolder {
    let folder = PluginFolder()
    folder.manifest("crashy/crashy.toml", name: "crashy", [("crashy", "libcrashy.so:crashy_entry")])
    install(folder, "crashy/\(build)/libcrashy.so", as: "crashy/libcrashy.so")
    folder.manifest("versioned/versioned.toml", [("versioned", "libversioned.so:versioned_entry")])
    install(folder, "versioned/v1/libversioned.so", as: "versioned/libversioned.so")
    folder.write("host.toml", "[host]\nenabled = [\"crashy\", \"versioned\"]\n")
    return folder
}

@Suite("A crashing plugin never takes plughost serve down", .serialized)
struct ContainmentTests {
    @Test("with 2 workers: five crashes of a plugin, the host never exits, the healthy plugin keeps answering, the journal names each one; after 3 the plugin is quarantined and fails closed; a new build and a reload bring it back")
    func crashesWithTwoWorkers() throws {
        let folder = crashFolder()
        let server = try ServeProcess(folder: folder, extraArguments: ["--workers", "2"])
        #expect(server.get("/crash/ok").body == "ok a")
        #expect(server.get("/count").status == 200, "the endpoint crashy wraps")
        let client = ClientLoop(port: server.port)
        var quarantinedAnswers = 0
        for round in 0..<5 {
            let crash = round.isMultiple(of: 2) ? "/crash/segv" : "/crash/abort"
            let reply = server.get(crash)
            if round < 3 {
                #expect(reply.status == nil, "\(crash) answered instead of crashing its worker: \(reply)")
            } else {
                // Quarantined after the third: the endpoint answers 503 naming the plugin.
                #expect(reply.status == 503 && reply.body.contains(#""plugin":"crashy""#), "crash \(round + 1): \(reply)\n\(server.log)")
                if reply.status == 503 { quarantinedAnswers += 1 }
            }
            #expect(server.process.isRunning, "the host exited after crash \(round + 1)")
            // The replacement serves (or, once quarantined, every worker has left crashy out) before the next try.
            let expected = round < 2 ? 200 : 503
            let deadline = Date().addingTimeInterval(10)
            while server.get("/crash/ok").status != expected && Date() < deadline { usleep(20_000) }
            if round >= 2 {
                // Both workers: a 503 from each of several requests.
                let deadline = Date().addingTimeInterval(10)
                while (0..<6).contains(where: { _ in server.get("/crash/ok").status != 503 }) && Date() < deadline { usleep(20_000) }
            }
        }
        let counts = client.stop()
        print("healthy endpoint during 5 crash attempts: \(counts.served) served, \(counts.failed) failed, \(counts.refused) refused")
        #expect(server.process.isRunning)
        #expect(counts.served > 0 && counts.refused == 0)
        // At most the requests in flight on each dying worker: one client, one request at a time.
        #expect(counts.failed <= 3)
        #expect(quarantinedAnswers == 2)
        let records = CrashJournal.records(path: folder.path + "/" + CrashJournal.fileName)
        #expect(records.count == 3, "\(records.map(\.line))")
        #expect(records.allSatisfy { $0.alias == "crashy" && $0.state == "loaded" && $0.sha256?.count == 64 }, "\(records.map(\.line))\n\(server.log)")
        #expect(records.map(\.signal) == ["SIGSEGV", "SIGABRT", "SIGSEGV"])
        // The faulting instruction is named inside the plugin; the host's own frames as plughost+offset.
        #expect(records.allSatisfy { $0.line.contains("pc=crashy+0x") || $0.signal == "SIGABRT" }, "\(records.map(\.line))")
        #expect(records.allSatisfy { $0.line.contains("plughost+0x") }, "\(records.map(\.line))")
        #expect(server.log.contains("died of"))
        #expect(server.log.contains("plugin 'crashy' is quarantined after 3 crashes"), "\(server.log)")
        // Fails closed: the endpoint crashy's wrapper guarded answers 503 on every worker, the rest serves.
        for _ in 0..<6 {
            let wrapped = server.get("/count")
            #expect(wrapped.status == 503 && wrapped.body.contains(#""plugin":"crashy""#), "\(wrapped)")
        }
        #expect(server.get("/version").body == "v1")
        let listing = server.get("/_plughost/plugins").body
        #expect(listing.contains(#""state":"quarantined""#), "\(listing)")

        // A new build (another hash) and a reload lift the quarantine.
        install(folder, "crashy/b/libcrashy.so", as: "crashy/libcrashy.so")
        let before = ServeProcess.now()
        server.hangUp()
        _ = server.reload(startedAfter: before)
        let deadline = Date().addingTimeInterval(10)
        while (0..<6).contains(where: { _ in server.get("/crash/ok").body != "ok b" }) && Date() < deadline { usleep(20_000) }
        #expect(server.get("/crash/ok").body == "ok b")
        #expect(server.get("/count").status == 200)
        #expect(server.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: server.pidFile), "the supervisor left its pid file")
    }

    @Test("the quarantine holds when the whole host restarts (a crash loop under systemd, one process): list shows it, unquarantine lifts it")
    func quarantineSurvivesRestart() throws {
        let folder = crashFolder()
        for crash in 1...3 {
            let server = try ServeProcess(folder: folder, extraArguments: ["--workers", "0"])
            #expect(server.get("/crash/segv").status == nil, "crash \(crash)")
            server.process.waitUntilExit()
        }
        let server = try ServeProcess(folder: folder, extraArguments: ["--workers", "0"])
        let reply = server.get("/crash/segv")
        #expect(reply.status == 503 && reply.body.contains("quarantined after 3 crashes"), "\(reply)")
        #expect(server.get("/count").status == 503)
        #expect(server.get("/version").body == "v1")
        #expect(server.log.contains("quarantined"), "\(server.log)")
        let list = try Plughost.run(["list", "--plugins", folder.path, "--config", folder.path + "/host.toml", "--pid-file", server.pidFile])
        #expect(list.output.split(separator: "\n").contains { $0.hasPrefix("crashy") && $0.contains("quarantined") }, "\(list.output)")
        let lift = try Plughost.run(["unquarantine", "crashy", "--plugins", folder.path, "--config", folder.path + "/host.toml", "--pid-file", server.pidFile])
        #expect(lift.status == 0 && lift.output.contains("lifted"), "\(lift.output)")
        #expect(server.get("/crash/ok").body == "ok a", "the reload after unquarantine did not bring it back")
        #expect(server.get("/count").status == 200)
        let again = try Plughost.run(["unquarantine", "crashy", "--plugins", folder.path, "--config", folder.path + "/host.toml", "--pid-file", server.pidFile])
        #expect(again.status == 1 && again.output.contains("not quarantined"), "\(again.output)")
        #expect(server.stop() == 0)
    }

    @Test("a Swift plugin's fatalError kills only its worker; the journal charges the Swift plugin with the trap's signal")
    func swiftFatalError() throws {
        let folder = PluginFolder()
        folder.manifest("sv/sv.toml", name: "sv", [("sv", "libswift_versioned.so:swift_versioned_entry")])
        install(folder, "swift_versioned/v1/libswift_versioned.so", as: "sv/libswift_versioned.so")
        folder.manifest("versioned/versioned.toml", [("versioned", "libversioned.so:versioned_entry")])
        install(folder, "versioned/v1/libversioned.so", as: "versioned/libversioned.so")
        folder.write("host.toml", "[host]\nenabled = [\"sv\", \"versioned\"]\n")
        let server = try ServeProcess(folder: folder, extraArguments: ["--workers", "1"])
        #expect(server.get("/swift/version").body == "swift v1")
        #expect(server.get("/swift/fatal").status == nil, "the fatalError endpoint answered")
        #expect(server.process.isRunning)
        let deadline = Date().addingTimeInterval(10)
        while server.get("/version").body != "v1" && Date() < deadline { usleep(20_000) }
        #expect(server.get("/swift/version").body == "swift v1")
        let records = CrashJournal.records(path: folder.path + "/" + CrashJournal.fileName).filter { $0.alias != nil }
        let record = try #require(records.first, "no journal line\n\(server.log)")
        // A Swift trap is ud2 (SIGILL) on x86-64, brk (SIGTRAP) on arm64.
        #expect(record.alias == "sv" && ["SIGILL", "SIGTRAP"].contains(record.signal) && record.state == "loaded", "\(record.line)")
        #expect(record.line.contains("sv+0x"), "\(record.line)")
        #expect(server.stop() == 0)
    }

    @Test("with 1 worker: no connection is refused while the crashed worker is replaced")
    func noConnectionRefusedWithOneWorker() throws {
        let folder = crashFolder()
        let server = try ServeProcess(folder: folder, extraArguments: ["--workers", "1"])
        #expect(server.get("/version").body == "v1")
        let client = ClientLoop(port: server.port)
        usleep(100_000)
        #expect(server.get("/crash/segv").status == nil)
        let deadline = Date().addingTimeInterval(10)
        while server.get("/crash/ok").body != "ok a" && Date() < deadline { usleep(20_000) }
        usleep(100_000)
        let counts = client.stop()
        print("healthy endpoint while the only worker was replaced: \(counts.served) served, \(counts.failed) failed, \(counts.refused) refused")
        #expect(counts.refused == 0, "connections were refused: the socket was not held while the worker was replaced")
        #expect(counts.failed <= 1)
        #expect(counts.served > 0)
        #expect(server.stop() == 0)
    }

    @Test("a thread that outlives its plugin's stop crashes the worker at the reload; the journal charges that plugin and the host serves on")
    func threadOutlivesStop() throws {
        let folder = PluginFolder()
        folder.manifest("rogue/rogue.toml", name: "rogue", [("rogue", "librogue.so:rogue_entry")])
        install(folder, "rogue/v1/librogue.so", as: "rogue/librogue.so")
        folder.manifest("versioned/versioned.toml", [("versioned", "libversioned.so:versioned_entry")])
        install(folder, "versioned/v1/libversioned.so", as: "versioned/libversioned.so")
        folder.write("host.toml", "[host]\nenabled = [\"rogue\", \"versioned\"]\n")
        let server = try ServeProcess(folder: folder)
        install(folder, "rogue/v2/librogue.so", as: "rogue/librogue.so")
        server.hangUp()
        let journal = folder.path + "/" + CrashJournal.fileName
        let deadline = Date().addingTimeInterval(10)
        while CrashJournal.records(path: journal).isEmpty && Date() < deadline { usleep(20_000) }
        let record = try #require(CrashJournal.records(path: journal).first)
        #expect(record.alias == "rogue" && record.state == "retired" && record.signal == "SIGSEGV", "\(record.line)")
        #expect(record.line.contains("a thread outlived stop in rogue 1.0.0"))
        #expect(server.process.isRunning)
        let served = Date().addingTimeInterval(10)
        while server.get("/version").body != "v1" && Date() < served { usleep(20_000) }
        #expect(server.get("/version").body == "v1")
        #expect(server.stop() == 0)
    }

    @Test("--workers 0 serves in one process; a crash there is still journaled before the process dies")
    func singleProcess() throws {
        let folder = crashFolder()
        let server = try ServeProcess(folder: folder, extraArguments: ["--workers", "0"])
        #expect(server.get("/crash/ok").body == "ok a")
        #expect(server.get("/crash/segv").status == nil)
        server.process.waitUntilExit()
        #expect(server.process.terminationReason == .uncaughtSignal && server.process.terminationStatus == SIGSEGV)
        let records = CrashJournal.records(path: folder.path + "/" + CrashJournal.fileName)
        #expect(records.count == 1 && records.first?.alias == "crashy" && records.first?.signal == "SIGSEGV")
    }

    @Test("libraries that crash while loading (a constructor, an entry point) dropped in before SIGHUP: the reload fails naming the library and its signal, the worker never dies, the old generation serves on; check exits 1 naming each")
    func crashWhileLoading() throws {
        let folder = PluginFolder()
        folder.manifest("versioned/versioned.toml", [("versioned", "libversioned.so:versioned_entry")])
        install(folder, "versioned/v1/libversioned.so", as: "versioned/libversioned.so")
        folder.write("host.toml", "[host]\n")
        let server = try ServeProcess(folder: folder)
        #expect(server.get("/version").body == "v1")

        folder.manifest("ctor/ctor.toml", name: "ctor", [("ctor", "libctor_crash.so:ctor_crash_entry")])
        install(folder, "libctor_crash.so", as: "ctor/libctor_crash.so")
        folder.manifest("entry/entry.toml", name: "entry", [("entry", "libentry_crash.so:entry_crash_entry")])
        install(folder, "libentry_crash.so", as: "entry/libentry_crash.so")
        let result = try Plughost.run(["reload", "--pid-file", server.pidFile])
        #expect(result.status == 1, "\(result.output)")
        #expect(result.output.contains("libctor_crash.so") && result.output.contains("crashed a probe process"), "\(result.output)")
        // Under a sanitizer, which catches the signal and exits, the reason is an exit status instead.
        #expect(result.output.contains(Self.sanitized ? "while loading" : "SIGSEGV while loading"), "\(result.output)")
        // A reload stops at its first failure; without the first library, the second is named.
        try FileManager.default.removeItem(atPath: folder.path + "/ctor")
        let second = try Plughost.run(["reload", "--pid-file", server.pidFile])
        #expect(second.status == 1, "\(second.output)")
        #expect(second.output.contains("libentry_crash.so") && second.output.contains("while loading"), "\(second.output)")
        #expect(server.get("/version").body == "v1")
        #expect(!server.log.contains("died of"), "a worker died:\n\(server.log)")
        #expect(CrashJournal.records(path: folder.path + "/" + CrashJournal.fileName).isEmpty)
        #expect(server.stop() == 0)

        folder.manifest("ctor/ctor.toml", name: "ctor", [("ctor", "libctor_crash.so:ctor_crash_entry")])
        install(folder, "libctor_crash.so", as: "ctor/libctor_crash.so")
        let check = try Plughost.run(["check", folder.path, "--config", folder.path + "/host.toml"])
        #expect(check.status == 1, "\(check.output)")
        let lines = check.output.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("FAIL") && $0.contains("libctor_crash.so") && $0.contains(Self.sanitized ? "while loading" : "SIGSEGV") },
                "\(check.output)")
        #expect(lines.contains { $0.hasPrefix("FAIL") && $0.contains("libentry_crash.so") && $0.contains("while loading") }, "\(check.output)")
        #expect(lines.contains { $0.hasPrefix("ok") && $0.contains("libversioned.so") }, "\(check.output)")
    }

    @Test("a worker past max-retained-images is replaced under load: its successor serves first, no request fails, the memory comes back")
    func retainedImagesReplaceTheWorker() throws {
        let folder = PluginFolder()
        folder.manifest("versioned/versioned.toml", [("versioned", "libversioned.so:versioned_entry")])
        install(folder, "versioned/v1/libversioned.so", as: "versioned/libversioned.so")
        folder.manifest("sv/sv.toml", name: "sv", [("sv", "libswift_versioned.so:swift_versioned_entry")])
        install(folder, "swift_versioned/v1/libswift_versioned.so", as: "sv/libswift_versioned.so")
        folder.write("host.toml", "[host]\nmax-retained-images = 2\n")
        let server = try ServeProcess(folder: folder, extraArguments: ["--workers", "1"])
        let first = try #require(Self.workerPids(server.log).first)
        _ = server.get("/swift/version")
        let startRSS = Self.residentKiB(first)
        let client = ClientLoop(port: server.port)
        for round in 1...4 {
            install(folder, "swift_versioned/\(round.isMultiple(of: 2) ? "v1" : "v2")/libswift_versioned.so", as: "sv/libswift_versioned.so")
            let before = ServeProcess.now()
            server.hangUp()
            _ = server.reload(startedAfter: before)
        }
        let oldRSS = Self.residentKiB(first)
        let deadline = Date().addingTimeInterval(20)
        while !server.log.contains("serves in place of worker \(first)") && Date() < deadline { usleep(20_000) }
        usleep(300_000)
        let counts = client.stop()
        print("while the worker was replaced: \(counts.served) served, \(counts.failed) failed, \(counts.refused) refused")
        #expect(server.log.contains("serves in place of worker \(first)"), "\(server.log)")
        #expect(counts.failed == 0 && counts.refused == 0 && counts.served > 0)
        let successor = try #require(Self.workerPids(server.log).last)
        #expect(successor != first)
        #expect(server.get("/swift/version").body == "swift v1")
        let newRSS = Self.residentKiB(successor)
        print("resident memory: first worker \(startRSS ?? -1) KiB at start, \(oldRSS ?? -1) KiB after 4 Swift reloads; its successor \(newRSS ?? -1) KiB")
        // (Not under a sanitizer: its shadow memory makes resident sizes incomparable.)
        if let startRSS, let oldRSS, let newRSS, !Self.sanitized {
            #expect(newRSS < oldRSS, "the successor holds no less memory than the worker it replaced")
            // (Within 4 MiB: the successor has served load, so more of its pool threads have touched their stacks.)
            #expect(newRSS < startRSS + 4096, "the successor holds much more than the first worker did at start")
        }
        #expect(server.stop() == 0)
    }

    @Test("64 requests blocked in one plugin do not starve another plugin's endpoint: its calls run on the blocking pool, the sleeper waits in its bulkhead")
    func slowPluginDoesNotStarveOthers() async throws {
        let folder = crashFolder()
        folder.write("host.toml", "[host]\nenabled = [\"crashy\", \"versioned\"]\nplugin-threads = 48\nplugin-concurrency = 32\n")
        let server = try ServeProcess(folder: folder, extraArguments: ["--workers", "1"])
        let port = server.port
        let clock = ContinuousClock()
        // 64 requests that each hold a call in crashy for 4 s (32 run, 32 wait in its bulkhead); 4 s, so
        // that the order below holds on a machine the rest of the suite keeps busy.
        let slow = Task {
            try await withThrowingTaskGroup(of: (ContinuousClock.Instant, Bool).self) { group in
                for _ in 0..<64 {
                    group.addTask {
                        let reply = try await RawHTTP.sendAsync("GET /crash/sleep?ms=4000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", port: port)
                        return (clock.now, reply.hasSuffix("slept"))
                    }
                }
                return try await group.reduce(into: [(ContinuousClock.Instant, Bool)]()) { $0.append($1) }
            }
        }
        try await Task.sleep(for: .milliseconds(500))
        // Meanwhile, another plugin's endpoint answers: inline on the serving threads it would
        // wait for the sleepers (measured before the pool: 2 requests/s, worst 776 ms).
        var fastServed = 0
        for _ in 0..<20 {
            let reply = try await RawHTTP.sendAsync("GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", port: port)
            if reply.hasSuffix("v1") { fastServed += 1 }
        }
        let fastDone = clock.now
        let slowReplies = try await slow.value
        let firstSlow = try #require(slowReplies.map(\.0).min())
        print("20 fast requests done \(fastDone - firstSlow) before the first of 64 blocked ones (negative: earlier)")
        #expect(fastServed == 20)
        #expect(slowReplies.filter(\.1).count == 64, "some blocked requests were not answered")
        // An order, not a speed: every fast request was answered before any blocked call returned.
        #expect(fastDone < firstSlow, "the fast endpoint waited for the blocked plugin")
        #expect(server.stop() == 0)
    }

    @Test("a hung call is answered 504 at its endpoint's timeout; past hang-kill-ms the hang is journaled against the plugin and its worker replaced, the successor first")
    func hungCallIsTimedOutAndItsWorkerReplaced() throws {
        let folder = crashFolder()
        folder.write("host.toml", "[host]\nenabled = [\"crashy\", \"versioned\"]\nhang-kill-ms = 1000\n\n[request-timeouts]\n\"GET /crash/hang\" = 300\n")
        let server = try ServeProcess(folder: folder, extraArguments: ["--workers", "1"])
        let first = try #require(Self.workerPids(server.log).first)
        let client = ClientLoop(port: server.port)
        let began = Date()
        let reply = server.get("/crash/hang")
        let waited = Date().timeIntervalSince(began)
        #expect(reply.status == 504 && reply.body.contains(#""plugin":"crashy""#) && reply.body.contains(#""timeout_ms":300"#), "\(reply)")
        #expect(waited < 5, "the 504 came after \(waited) s")
        let deadline = Date().addingTimeInterval(15)
        while !server.log.contains("serves in place of worker \(first)") && Date() < deadline { usleep(20_000) }
        while server.process.isRunning && kill(first, 0) == 0 && Date() < deadline { usleep(20_000) }
        usleep(200_000)
        let counts = client.stop()
        print("while the hung worker was replaced: \(counts.served) served, \(counts.failed) failed, \(counts.refused) refused")
        #expect(server.log.contains("serves in place of worker \(first)"), "\(server.log)")
        #expect(kill(first, 0) != 0, "the hung worker still runs")
        #expect(counts.refused == 0 && counts.served > 0)
        // Plugin-attributed lines only: in a debug build, NIO asserts in the draining worker when it
        // and its successor both poll the shared socket and the successor accepted first (an
        // `accept` that finds nothing); a release build returns from it quietly.
        let records = CrashJournal.records(path: folder.path + "/" + CrashJournal.fileName).filter { $0.alias != nil }
        let hang = try #require(records.first, "no journal line\n\(server.log)")
        #expect(records.count == 1 && hang.signal == "HANG" && hang.alias == "crashy" && hang.pid == first, "\(records.map(\.line))\n\(server.log)")
        #expect(hang.line.contains("a call hung in crashy") && hang.line.contains("crashy+0x"), "\(hang.line)\n\(server.log)")
        #expect(server.get("/version").body == "v1")
        #expect(server.stop() == 0)
    }

    /// Whether this test process (and so the plughost beside it) runs under AddressSanitizer or ThreadSanitizer.
    private static let sanitized = ServeHelpers.sanitized

    /// The pids of the workers in `log`'s "worker N serving" lines, in order.
    private static func workerPids(_ log: String) -> [Int32] { ServeHelpers.workerPids(log) }

    private static func residentKiB(_ pid: Int32) -> Int? { ServeHelpers.residentKiB(pid) }
}
