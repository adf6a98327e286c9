import Foundation
import PluginHTTPExtension
import PluginRuntime
import PluginTestSupport
import Testing

/// A folder with the crashing fixture (which wraps `GET /count` and allows the
/// check `crashy.gate`) beside the versioned one, and the state folder for the journal.
private struct QuarantineSetup {
    let folder = PluginFolder()
    let state: String
    let files: ContainmentFiles
    var config: HostConfig { HostConfig(enabled: ["crashy", "versioned"]) }

    init(build: String = "a") {
        state = folder.path + "/state"
        try! FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        files = ContainmentFiles(stateFolder: state)
        folder.manifest("crashy.toml", name: "crashy", [("crashy", "libcrashy.so:crashy_entry")])
        folder.copyFixture("crashy/\(build)/libcrashy.so", as: "libcrashy.so")
        folder.manifest("versioned.toml", [("versioned", "libversioned.so:versioned_entry")])
        folder.copyFixture("versioned/v1/libversioned.so", as: "libversioned.so")
    }

    func runtime(_ config: HostConfig? = nil) -> PluginRuntime {
        PluginRuntime(pluginsDirectory: folder.path, config: config ?? self.config, servesHTTP: true, containment: files)
    }

    /// Appends `count` crash lines of crashy's current build, `apart` seconds apart, ending now.
    func journalCrashes(_ count: Int, apart: Int = 1) throws {
        let sha = try #require(Self.sha256(of: folder.path + "/libcrashy.so"))
        let now = Int(Date().timeIntervalSince1970)
        var text = ""
        for index in 0..<count {
            let time = Date(timeIntervalSince1970: TimeInterval(now - (count - 1 - index) * apart))
            text += "\(Self.iso(time)) pid=\(100 + index) signal=SIGSEGV alias=crashy version=1.0.0 sha256=\(sha) state=loaded note=\"fault in crashy 1.0.0\" address=0x0 pc=crashy+0x1139 frames=\n"
        }
        let handle = FileHandle(forWritingAtPath: files.journal) ?? {
            FileManager.default.createFile(atPath: files.journal, contents: nil)
            return FileHandle(forWritingAtPath: files.journal)!
        }()
        handle.seekToEndOfFile()
        handle.write(Data(text.utf8))
        handle.closeFile()
    }

    static func iso(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    static func sha256(of path: String) -> String? {
        let pipe = Pipe()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        process.standardOutput = pipe
        try? process.run()
        process.waitUntilExit()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return text.split(separator: " ").first.map(String.init)
    }
}

@Suite("Quarantine: a plugin that crashed too often is left out and what it guarded fails closed")
struct QuarantineTests {
    @Test("the journal decides: 3 crashes of one build within the window quarantine it; fewer, spread out, another build or a lift do not")
    func evaluation() throws {
        func line(_ time: String, sha: String = "aa", alias: String = "p", signal: String = "SIGSEGV", event: String = "") -> CrashRecord {
            CrashRecord(line: "\(time) pid=1 signal=\(signal) alias=\(alias) sha256=\(sha)\(event)")!
        }
        let close = [line("2026-11-24T10:00:00Z"), line("2026-11-24T10:00:30Z"), line("2026-11-24T10:00:59Z")]
        let list = QuarantineList.evaluate(close, limit: 3, window: 60)
        #expect(list.entry(alias: "p", sha256: "aa")?.crashes == 3)
        #expect(list.entry(alias: "p", sha256: "bb") == nil, "another build is not quarantined")
        let spread = [line("2026-11-24T10:00:00Z"), line("2026-11-24T10:00:30Z"), line("2026-11-24T10:01:01Z")]
        #expect(QuarantineList.evaluate(spread, limit: 3, window: 60).isEmpty)
        let mixed = [line("2026-11-24T10:00:00Z"), line("2026-11-24T10:00:01Z", sha: "bb"), line("2026-11-24T10:00:02Z")]
        #expect(QuarantineList.evaluate(mixed, limit: 3, window: 60).isEmpty, "crashes of two builds do not add up")
        let hangs = close.dropLast() + [line("2026-11-24T10:00:40Z", signal: "HANG")]
        #expect(QuarantineList.evaluate(Array(hangs), limit: 3, window: 60).entries["p"] != nil, "a hang counts like a crash")
        let lifted = close + [CrashRecord(line: "2026-11-24T10:02:00Z pid=9 signal=- event=lifted alias=p")!]
        #expect(QuarantineList.evaluate(lifted, limit: 3, window: 60).isEmpty)
        let again = lifted + [line("2026-11-24T10:03:00Z")]
        #expect(QuarantineList.evaluate(again, limit: 3, window: 60).isEmpty, "crashes before the lift no longer count")
        let shared = [line("2026-11-24T10:00:00Z", alias: "p,q"), line("2026-11-24T10:00:01Z", alias: "p,q")]
        #expect(QuarantineList.evaluate(shared, limit: 2, window: 60).entries.keys.sorted() == ["p", "q"],
                "every alias of a crashing library is charged")
        #expect(CrashRecord(line: "2026-11-24T10:00:00Z pid=1 signal=SIGSEGV")?.seconds == 1_795_514_400)
    }

    @Test("a quarantined plugin is not loaded: its endpoints and the endpoint it wrapped answer 503 naming it, its check denies; a lift and a reload bring it back")
    func failsClosed() throws {
        let setup = QuarantineSetup()
        // A first run records what crashy guards.
        let first = setup.runtime()
        try first.start()
        #expect(first.withCurrentGeneration { $0.handle(PluginHTTPRequest(method: "GET", path: "/count")).status } == 200)
        first.shutdown()
        let guards = try String(contentsOfFile: setup.files.guards, encoding: .utf8)
        #expect(guards.contains("crashy\thttp.endpoint GET /crash/segv") && guards.contains("crashy\thttp.wrapped GET /count")
                && guards.contains("crashy\tcheck crashy.gate") && guards.contains("crashy\thttp.wrapper GET /count"), "\(guards)")

        try setup.journalCrashes(3)
        let runtime = setup.runtime()
        try runtime.start()
        defer { runtime.shutdown() }
        let status = try #require(runtime.statuses.of("crashy"))
        #expect(status.state == .quarantined && status.error?.code == .quarantined, "\(status)")
        #expect(status.error?.reason.contains("quarantined after 3 crashes") == true)
        #expect(runtime.generation?.aliases == ["versioned"])
        let generation = try #require(runtime.generation)
        let own = generation.handle(PluginHTTPRequest(method: "GET", path: "/crash/ok"))
        #expect(own.status == 503)
        let body = String(decoding: own.body, as: UTF8.self)
        #expect(body.contains(#""plugin":"crashy""#) && body.contains("SIGSEGV"), "\(body)")
        let wrapped = generation.handle(PluginHTTPRequest(method: "GET", path: "/count"))
        #expect(wrapped.status == 503, "an endpoint a quarantined wrapper guarded was served unwrapped")
        #expect(String(decoding: wrapped.body, as: UTF8.self).contains(#""plugin":"crashy""#))
        #expect(generation.handle(PluginHTTPRequest(method: "GET", path: "/version")).status == 200)
        #expect(generation.handle(PluginHTTPRequest(method: "GET", path: "/nothing")).status == 404)
        let check = generation.check(try #require(EventNames.shared.id(for: "crashy.gate")))
        guard case .deny(let by, let reason) = check else {
            Issue.record("the check crashy guarded answered \(check) instead of deny")
            return
        }
        #expect(by == "crashy" && reason.contains("quarantined"), "\(reason)")
        #expect(generation.endpoints.listing.contains { $0.path == "/crash/segv" && $0.kind == "quarantined" })

        // Unchanged on disk and still quarantined: a reload keeps it out.
        #expect(runtime.reload().succeeded)
        #expect(runtime.statuses.of("crashy")?.state == .quarantined)
        try CrashJournal.appendLift(alias: "crashy", path: setup.files.journal)
        let report = runtime.reload()
        #expect(report.succeeded && report.added == ["crashy"], "\(report)")
        #expect(runtime.withCurrentGeneration { $0.handle(PluginHTTPRequest(method: "GET", path: "/crash/ok")).status } == 200)
        #expect(runtime.withCurrentGeneration { $0.handle(PluginHTTPRequest(method: "GET", path: "/count")).status } == 200)
    }

    @Test("a running plugin whose build becomes quarantined is left out at the next reload; a new build (another hash) lifts it")
    func reloadQuarantinesAndNewBuildLifts() throws {
        let setup = QuarantineSetup()
        let runtime = setup.runtime()
        try runtime.start()
        defer { runtime.shutdown() }
        try setup.journalCrashes(3)
        let report = runtime.reload()
        #expect(report.succeeded && report.quarantined == ["crashy"], "\(report)")
        #expect(runtime.withCurrentGeneration { $0.handle(PluginHTTPRequest(method: "GET", path: "/count")).status } == 503)
        #expect(runtime.withCurrentGeneration { $0.handle(PluginHTTPRequest(method: "GET", path: "/crash/ok")).status } == 503)
        let library = setup.folder.path + "/libcrashy.so"
        try FileManager.default.removeItem(atPath: library)
        try FileManager.default.copyItem(atPath: Fixtures.library("crashy/b/libcrashy.so"), toPath: library)
        let lifted = runtime.reload()
        #expect(lifted.succeeded && lifted.added == ["crashy"], "\(lifted)")
        #expect(runtime.withCurrentGeneration { String(decoding: $0.handle(PluginHTTPRequest(method: "GET", path: "/crash/ok")).body, as: UTF8.self) } == "ok b")
    }
}
