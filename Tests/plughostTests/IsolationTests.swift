import Foundation
import PluginRuntime
import PluginTestSupport
import Testing

/// A folder serving the isolation fixture (build `build`, in a plugin process of its own
/// when `isolated`) beside a healthy in-process plugin (`/version`).
private func isolationFolder(build: String = "a", isolated: Bool = true, extra: String = "") -> PluginFolder {
    let folder = PluginFolder()
    folder.manifest("isolated/isolated.toml", name: "isolated", [("isolated", "libisolated.so:isolated_entry")])
    install(folder, "isolated/\(build)/libisolated.so", as: "isolated/libisolated.so")
    folder.manifest("versioned/versioned.toml", [("versioned", "libversioned.so:versioned_entry")])
    install(folder, "versioned/v1/libversioned.so", as: "versioned/libversioned.so")
    folder.write("host.toml", isolationConfig(isolated: isolated) + extra)
    return folder
}

/// The host config of ``isolationFolder(build:isolated:extra:)``: a high crash limit, so that the
/// faults a test injects never quarantine the plugin, and a short call timeout for the hang.
private func isolationConfig(isolated: Bool) -> String {
    """
    [host]
    enabled = ["isolated", "versioned"]
    crash-limit = 50

    """ + (isolated ? """
    [isolation.isolated]
    mode = "process"
    memory-mb = 64
    call-timeout-ms = 1500

    """ : "")
}

/// The plugin process pids that answer `/iso/pid` (several requests, so every worker's).
private func pluginPids(_ serve: ServeProcess, requests: Int = 16) -> Set<String> {
    Set((0..<requests).compactMap { _ in
        let reply = serve.get("/iso/pid")
        return reply.status == 200 ? reply.body : nil
    })
}

/// The worker pids: the serving process itself alone, else the workers the admin listing names.
private func workerPids(_ serve: ServeProcess, workers: Int) -> Set<String> {
    guard workers > 0 else { return [String(serve.process.processIdentifier)] }
    let listing = serve.get("/_plughost/plugins").body
    guard let json = try? JSONSerialization.jsonObject(with: Data(listing.utf8)) as? [String: Any],
          let plugins = json["plugins"] as? [[String: Any]],
          let states = plugins.first(where: { $0["alias"] as? String == "versioned" })?["worker_states"] as? [String: Any] else { return [] }
    return Set(states.keys)
}

/// Whether a process `pid` exists.
private func alive(_ pid: String) -> Bool { Int32(pid).map { kill($0, 0) == 0 } ?? false }

@Suite("Isolated plugins: a plugin process of its own, sandboxed; its faults cost that plugin only", .serialized)
struct IsolationTests {
    @Test("a NULL write, the memory limit, the sandbox's refusals, a seccomp kill and a hang cost only the isolated plugin's calls",
          arguments: [0, 2])
    func faultsCostThatPluginOnly(workers: Int) throws {
        let folder = isolationFolder()
        let serve = try ServeProcess(folder: folder, extraArguments: ["--workers", String(workers)])
        OperationsTests.waitUntilReady(serve)
        let journal = folder.path + "/" + CrashJournal.fileName
        var workersBefore = workerPids(serve, workers: workers)
        let listed = Date().addingTimeInterval(10)
        while workersBefore.count < max(workers, 1) && Date() < listed { usleep(50_000); workersBefore = workerPids(serve, workers: workers) }
        #expect(workersBefore.count == max(workers, 1), "\(workersBefore)")
        let pids = pluginPids(serve)
        #expect(!pids.isEmpty && pids.isDisjoint(with: workersBefore), "plugin processes \(pids), workers \(workersBefore)")
        if workers == 2 {
            // Each worker has a plugin process of its own.
            let deadline = Date().addingTimeInterval(5)
            var seen = pids
            while seen.count < 2 && Date() < deadline { seen.formUnion(pluginPids(serve, requests: 4)) }
            #expect(seen.count == 2, "\(seen)")
        }
        // It holds nothing of its worker's: no listening socket, connection or event loop descriptor.
        for pid in pids {
            let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
            let targets = descriptors.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)") }
            #expect(!targets.isEmpty && !targets.contains { $0.contains("eventpoll") } && targets.count <= 8, "\(targets)")
        }
        let client = ClientLoop(port: serve.port, path: "/version", accepted: ["v1"])

        // A NULL write: a 503 naming the plugin, journaled with SIGSEGV, answering again within a second.
        let crash = serve.get("/iso/segv")
        let crashed = Date()
        #expect(crash.status == 503 && crash.body.contains(#""plugin":"isolated""#), "\(crash)")
        var answeredAgain: TimeInterval?
        while Date().timeIntervalSince(crashed) < 5 {
            if (0..<max(workers, 1) * 3).allSatisfy({ _ in serve.get("/iso/ok").body == "ok a" }) {
                answeredAgain = Date().timeIntervalSince(crashed)
                break
            }
            usleep(10_000)
        }
        #expect(answeredAgain.map { $0 < 1 } == true, "answered again after \(answeredAgain.map(String.init(describing:)) ?? "never")\n\(serve.log)")
        let segv = CrashJournal.records(path: journal).filter { $0.alias == "isolated" && $0.signal == "SIGSEGV" }
        #expect(segv.count == 1 && segv.first?.line.contains("source=isolation") == true, "\(CrashJournal.records(path: journal).map(\.line))")
        #expect(serve.log.contains("died of SIGSEGV"))

        // The memory limit (64 MiB) fails the allocation in the plugin process, not in the worker.
        #expect(serve.get("/iso/alloc/200").body == "allocation of 200 MiB failed")
        #expect(serve.get("/iso/alloc/8").body == "allocated 8 MiB")
        // The strict sandbox: no file outside its state folder, no TCP; its state folder is writable.
        #expect(serve.get("/iso/tmpfile").body == "errno \(EACCES)")
        #expect(serve.get("/iso/connect/\(serve.port)").body == "errno \(EACCES)")
        #expect(serve.get("/iso/statefile").body == "created")
        // A syscall outside the allow-list: SIGSYS, journaled with the syscall's name.
        let trace = serve.get("/iso/ptrace")
        #expect(trace.status == 503, "\(trace)")
        let deadline = Date().addingTimeInterval(5)
        while !CrashJournal.records(path: journal).contains(where: { $0.signal == "SIGSYS" }) && Date() < deadline { usleep(20_000) }
        let sigsys = CrashJournal.records(path: journal).filter { $0.signal == "SIGSYS" }
        #expect(sigsys.count == 1 && sigsys.first?.alias == "isolated" && sigsys.first?.line.contains("syscall=ptrace") == true,
                "\(CrashJournal.records(path: journal).map(\.line))")

        // A hang: 504 after call-timeout-ms, and a new plugin process (once the last one is back).
        let back = Date().addingTimeInterval(5)
        while !(0..<max(workers, 1) * 3).allSatisfy({ _ in serve.get("/iso/ok").body == "ok a" }) && Date() < back { usleep(20_000) }
        let beforeHang = pluginPids(serve)
        let hang = serve.get("/iso/hang")
        #expect(hang.status == 504 && hang.body.contains(#""plugin":"isolated""#), "\(hang)")
        let replaced = Date().addingTimeInterval(5)
        var afterHang = pluginPids(serve)
        while afterHang.isSubset(of: beforeHang) && Date() < replaced { usleep(20_000); afterHang = pluginPids(serve) }
        #expect(!afterHang.isSubset(of: beforeHang), "before \(beforeHang), after \(afterHang)")
        #expect(CrashJournal.records(path: journal).contains { $0.signal == "HANG" && $0.alias == "isolated" })

        // The workers are the same processes, and the healthy plugin answered every request.
        #expect(workerPids(serve, workers: workers) == workersBefore)
        let counts = client.stop()
        #expect(counts.served > 0 && counts.failed == 0 && counts.refused == 0, "\(counts)")
        #expect(serve.process.isRunning)
        let lastPids = pluginPids(serve)
        #expect(serve.stop() == 0)
        // Its plugin processes end with the host.
        let gone = Date().addingTimeInterval(5)
        while lastPids.contains(where: alive) && Date() < gone { usleep(20_000) }
        #expect(!lastPids.contains(where: alive), "\(lastPids)")
    }

    @Test("crash-limit crashes of an isolated plugin quarantine it: its plugin process is not restarted, it answers 503 naming it, and a new build with a reload brings it back")
    func quarantine() throws {
        let folder = isolationFolder(extra: "")
        folder.write("host.toml", isolationConfig(isolated: true).replacingOccurrences(of: "crash-limit = 50", with: "crash-limit = 2"))
        let serve = try ServeProcess(folder: folder, extraArguments: ["--workers", "0"])
        OperationsTests.waitUntilReady(serve)
        #expect(serve.get("/iso/segv").status == 503)
        let back = Date().addingTimeInterval(5)
        while serve.get("/iso/ok").body != "ok a" && Date() < back { usleep(20_000) }
        let pid = serve.get("/iso/pid").body
        #expect(serve.get("/iso/segv").status == 503)
        // The second crash within the window: quarantined, not restarted.
        usleep(500_000)
        for _ in 0..<3 {
            let reply = serve.get("/iso/ok")
            #expect(reply.status == 503 && reply.body.contains(#""plugin":"isolated""#), "\(reply)")
        }
        #expect(!alive(pid))
        #expect(serve.log.contains("plugin 'isolated' is quarantined after 2 crashes of its plugin process"), "\(serve.log)")
        #expect(serve.get("/version").body == "v1")
        // A new build is not quarantined.
        install(folder, "isolated/b/libisolated.so", as: "isolated/libisolated.so")
        let before = ServeProcess.now()
        serve.hangUp()
        #expect(serve.reload(startedAfter: before)?["succeeded"] as? Bool == true, "\(serve.log)")
        #expect(serve.get("/iso/ok").body == "ok b")
        #expect(serve.stop() == 0)
    }

    @Test("a reload of an isolated plugin under a client loop fails no request and hands its state over; moving it in-process and back too")
    func reloadUnderLoad() throws {
        let folder = isolationFolder()
        let serve = try ServeProcess(folder: folder, extraArguments: ["--workers", "0"])
        OperationsTests.waitUntilReady(serve)
        for expected in 1...3 { #expect(serve.get("/iso/count").body == String(expected)) }
        let oldPid = serve.get("/iso/pid").body
        let client = ClientLoop(port: serve.port, path: "/iso/ok", accepted: ["ok a", "ok b"])

        // A new build: a new plugin process, given the old one's count; the old one exits.
        install(folder, "isolated/b/libisolated.so", as: "isolated/libisolated.so")
        var before = ServeProcess.now()
        serve.hangUp()
        let report = serve.reload(startedAfter: before)
        #expect(report?["succeeded"] as? Bool == true, "\(String(describing: report))\n\(serve.log)")
        #expect(serve.get("/iso/ok").body == "ok b")
        #expect(serve.get("/iso/count").body == "4", "state handed over")
        let newPid = serve.get("/iso/pid").body
        #expect(newPid != oldPid && newPid != String(serve.process.processIdentifier))
        let gone = Date().addingTimeInterval(10)
        while alive(oldPid) && Date() < gone { usleep(20_000) }
        #expect(!alive(oldPid), "the old plugin process \(oldPid) still runs")

        // Into the host's process: the count goes on, its pid is the host's.
        folder.write("host.toml", isolationConfig(isolated: false))
        before = ServeProcess.now()
        serve.hangUp()
        #expect(serve.reload(startedAfter: before)?["succeeded"] as? Bool == true, "\(serve.log)")
        #expect(serve.get("/iso/pid").body == String(serve.process.processIdentifier))
        #expect(serve.get("/iso/count").body == "5")

        // And back into a process of its own.
        folder.write("host.toml", isolationConfig(isolated: true))
        before = ServeProcess.now()
        serve.hangUp()
        #expect(serve.reload(startedAfter: before)?["succeeded"] as? Bool == true, "\(serve.log)")
        let isolatedAgain = serve.get("/iso/pid").body
        #expect(isolatedAgain != String(serve.process.processIdentifier) && alive(isolatedAgain))
        #expect(serve.get("/iso/count").body == "6")

        let counts = client.stop()
        print("isolated endpoint during 3 reloads: \(counts.served) served, \(counts.failed) failed, \(counts.refused) refused")
        #expect(counts.served > 0 && counts.failed == 0 && counts.refused == 0, "\(counts)\n\(serve.log)")
        #expect(serve.stop() == 0)
    }

    @Test("the example plugins isolated: auth's wrapper, greeter's typed and async endpoints (Swift), calc's typed endpoints, later's deferred answers; audit's function-pointer service is refused with a reason, and greeter greets without it")
    func examplesIsolated() throws {
        let folder = PluginFolder()
        let base = (try? String(contentsOfFile: Fixtures.repositoryRoot + "/plughost.toml", encoding: .utf8)) ?? ""
        let isolation = ["timing", "auth", "audit", "greeter", "calc", "later"].map { "\n[isolation.\($0)]\nmode = \"process\"\n" }.joined()
        folder.write("host.toml", base + isolation)
        let serve = try ServeProcess(folder: folder, extraArguments: ["--plugins", Fixtures.examples, "--config", folder.path + "/host.toml",
                                                                      "--workers", "0"])
        // Not ready (audit did not start): wait for the plugins that did.
        let started = Date().addingTimeInterval(20)
        while serve.get("/calc/add/1/1").status != 200 && Date() < started { usleep(20_000) }
        func send(_ method: String, _ path: String, body: String = "", headers: String = "") -> String {
            (try? RawHTTP.send("\(method) \(path) HTTP/1.1\r\nHost: x\r\n\(headers)Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)",
                               port: serve.port)) ?? ""
        }
        // audit offers a table of function pointers: refused isolated, with a reason naming it.
        #expect(serve.log.contains("service 'audit.log/1' is a table of function pointers, which cannot cross"), "\(serve.log)")
        #expect(serve.log.contains("alias 'audit': create failed"), "\(serve.log)")
        #expect(serve.log.contains("no audit service; greeting without it"), "\(serve.log)")
        // calc (C): typed endpoints, the host parsing values and the plugin process making the call.
        #expect(serve.get("/calc/add/2/40").body == "42")
        #expect(serve.get("/calc/divide?a=1&b=4").body == "0.25")
        #expect(send("POST", "/calc/shout", body: "hi").hasSuffix(#""HI!""#))
        #expect(send("POST", "/calc/stats", body: #"{"values":[1,2,3]}"#, headers: "Content-Type: application/json\r\n").contains(#""count":3"#))
        // auth's wrapper (isolated) guards calc's (isolated) endpoint and hands it a property.
        #expect(send("GET", "/api/calc/whoami").hasPrefix("HTTP/1.1 401"))
        #expect(send("GET", "/api/calc/whoami", headers: "Authorization: Bearer secret-token\r\n").hasSuffix(#""you are alice""#))
        // timing's wrapper (isolated) around every endpoint.
        #expect(send("GET", "/calc/add/1/1").contains("X-Response-Time-Us: "))
        // greeter (Swift): typed, Codable and async endpoints; its wrapper's prepared value.
        let greeted = send("GET", "/greet/ada/2")
        #expect(greeted.hasSuffix(#""Hello, ada! Hello, ada!""#) && greeted.contains("X-Greeter-Endpoint: typed GET /greet/:name/:times"), "\(greeted)")
        #expect(send("POST", "/greetings", body: #"{"name":"ada"}"#, headers: "Content-Type: application/json\r\n").contains(#""Hello, ada!""#))
        let later = send("GET", "/greetings/bob/later")
        #expect(later.hasPrefix("HTTP/1.1 200") && later.contains("bob"), "\(later)")
        #expect(serve.get("/hello/later?name=ann&ms=10").body.contains("Hello, ann"))
        // later (C): deferred completion from a thread of the plugin process.
        #expect(serve.get("/later").body.hasPrefix("waited"))

        // greeter's plugin process dies (SIGSEGV from outside): the restarted one runs its
        // wrapper's prepare again, so the state the host holds for each endpoint still works.
        func greeterPid() -> Int32? {
            guard let json = try? JSONSerialization.jsonObject(with: Data(serve.get("/_plughost/plugins").body.utf8)) as? [String: Any],
                  let plugins = json["plugins"] as? [[String: Any]],
                  let isolation = plugins.first(where: { $0["alias"] as? String == "greeter" })?["isolation"] as? [String: Any] else { return nil }
            return (isolation["pid"] as? NSNumber)?.int32Value
        }
        let before = try #require(greeterPid())
        #expect(kill(before, SIGSEGV) == 0)
        let restarted = Date().addingTimeInterval(5)
        while (greeterPid() ?? before) == before && Date() < restarted { usleep(20_000) }
        #expect(greeterPid().map { $0 != before } == true, "\(serve.log)")
        // Answered 503 while the new process replays create, prepare and start; then as before.
        var again = send("GET", "/greet/ada/2")
        while !again.hasPrefix("HTTP/1.1 200") && Date() < restarted.addingTimeInterval(5) { usleep(20_000); again = send("GET", "/greet/ada/2") }
        #expect(again.hasSuffix(#""Hello, ada! Hello, ada!""#) && again.contains("X-Greeter-Endpoint: typed GET /greet/:name/:times"), "\(again)")
        #expect(serve.log.contains("plugin process of greeter 1.0.0 died of SIGSEGV"), "\(serve.log)")
        #expect(serve.stop() == 0)
    }

    @Test("events, checks and a message service cross the boundary both ways", arguments: [true, false])
    func servicesAndEventsCross(isolatedFixture: Bool) throws {
        let folder = PluginFolder()
        folder.manifest("isolated/isolated.toml", name: "isolated", [("isolated", "libisolated.so:isolated_entry")])
        install(folder, "isolated/a/libisolated.so", as: "isolated/libisolated.so")
        let greeterFolder = folder.path + "/greeter"
        try? FileManager.default.createDirectory(atPath: greeterFolder, withIntermediateDirectories: true)
        for file in ["greeter.toml", "libgreeter.so"] {
            try FileManager.default.copyItem(atPath: Fixtures.examples + "/greeter/" + file, toPath: greeterFolder + "/" + file)
        }
        // The fixture isolated and greeter in-process, or the other way round.
        let isolatedAlias = isolatedFixture ? "isolated" : "greeter"
        folder.write("host.toml", """
            [host]
            enabled = ["isolated", "greeter"]

            [plugin.greeter]
            greeting = "Hi"
            names = ["eve"]

            [isolation.\(isolatedAlias)]
            mode = "process"

            """)
        let serve = try ServeProcess(folder: folder, extraArguments: ["--workers", "0"])
        OperationsTests.waitUntilReady(serve)
        // The message service: the fixture calls greeter's "greeter.greetings/1".
        #expect(serve.get("/iso/greet/ada").body == "Hi, ada!", "\(serve.log)")
        // A check: greeter asks "access.check" for eve at start and on /hello; the fixture denies her with its reason.
        let denied = serve.get("/hello?name=eve")
        #expect(denied.status == 403 && denied.body.contains("eve is on isolated's list"), "\(denied)")
        // An event: greeter publishes "greeter.greeted", the fixture counts what it receives.
        #expect(serve.get("/hello?name=bob").status == 200)
        #expect(serve.get("/iso/seen").body == "1: Hi, bob!", "\(serve.get("/iso/seen"))\n\(serve.log)")
        #expect(serve.stop() == 0)
    }
}
