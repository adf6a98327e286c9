import Dispatch
import Foundation
import PluginRuntime
import PluginTestSupport
import Testing

/// The runtime's phases (idle → running → stopped) and the one-at-a-time rule for start, reload and shutdown.
@Suite("Runtime phases: idle, running, stopped; one operation at a time")
struct RuntimePhaseTests {
    @Test("a reload before start is refused, loads nothing, and the runtime still starts")
    func reloadBeforeStart() throws {
        let folder = PluginFolder()
        folder.addRecorder("a")
        let runtime = PluginRuntime(pluginsDirectory: folder.path, config: folder.config(["a"]))
        let report = runtime.reload()
        #expect(!report.succeeded)
        #expect(report.generation == 0)
        #expect(report.problems.map(\.code) == [.reloadRefused])
        #expect(runtime.reloadCount == 1)
        #expect(runtime.generation == nil)
        #expect(folder.events().isEmpty)
        try runtime.start()
        defer { runtime.shutdown() }
        #expect(runtime.generation?.aliases == ["a"])
    }

    @Test("a shutdown before start is harmless, and the runtime still starts")
    func shutdownBeforeStart() throws {
        let folder = PluginFolder()
        folder.addRecorder("a")
        let runtime = PluginRuntime(pluginsDirectory: folder.path, config: folder.config(["a"]))
        runtime.shutdown()
        #expect(runtime.statuses.isEmpty)
        try runtime.start()
        defer { runtime.shutdown() }
        #expect(runtime.statuses.of("a")?.state == .running)
    }

    @Test("a stopped runtime refuses start and reload, and changes nothing")
    func stoppedStaysStopped() throws {
        let folder = PluginFolder()
        folder.addRecorder("a")
        let runtime = try folder.start(folder.config(["a"]))
        runtime.shutdown()
        let report = runtime.reload()
        #expect(report.problems.map(\.code) == [.reloadRefused])
        #expect(report.generation == 0)
        #expect {
            try runtime.start()
        } throws: { error in
            (error as? PluginRuntime.StartFailure)?.problems.map(\.code) == [.alreadyStarted]
        }
        #expect(folder.events().filter { $0 == "a create" }.count == 1)
        #expect(runtime.statuses.of("a")?.state == .stopped)
        #expect(runtime.generation == nil)
    }

    @Test("a strict start that refused leaves the runtime stopped: it does not start again")
    func strictRefusalStops() throws {
        let folder = PluginFolder()
        folder.addRecorder("good")
        folder.manifest("bad.toml", [("bad", "libmissing.so:entry")])
        let runtime = PluginRuntime(pluginsDirectory: folder.path, config: folder.config(["good", "bad"]))
        #expect(throws: PluginRuntime.StartFailure.self) { try runtime.start(strict: true) }
        #expect {
            try runtime.start()
        } throws: { error in
            (error as? PluginRuntime.StartFailure)?.problems.map(\.code) == [.alreadyStarted]
        }
        #expect(runtime.reload().problems.map(\.code) == [.reloadRefused])
        #expect(!folder.events().contains("good create"))
    }

    @Test("plugins calling back into the host from start during a reload never wait for the control lock",
          .timeLimit(.minutes(1)))
    func callbacksDuringReload() throws {
        let folder = PluginFolder()
        folder.addRecorder("a")
        // `b` is enabled but not declared yet: the start reports it, a reload adds it.
        let config = folder.config(["a", "b"], extra: [
            "a": ["provide": .string("svc")],
            "b": ["lookup": .string("svc"), "publish": .string("test.ping")],
        ])
        let runtime = try folder.start(config)
        defer { runtime.shutdown() }
        folder.addRecorder("b")
        // b's start looks up a's service and publishes an event, on the reloading thread.
        let report = runtime.reload()
        #expect(report.succeeded, "\(report)")
        #expect(report.added == ["b"])
        let events = folder.events()
        #expect(events.contains("b service a"))
        #expect(events.contains("a test.ping hello"))
    }

    @Test("reloads and status reads from many threads run one reload at a time", .timeLimit(.minutes(1)))
    func concurrentReloads() throws {
        let folder = PluginFolder()
        folder.addRecorder("a")
        let runtime = try folder.start(folder.config(["a"]))
        defer { runtime.shutdown() }
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            if index.isMultiple(of: 2) {
                _ = runtime.reload()
            } else {
                _ = runtime.statuses
                _ = runtime.withCurrentGeneration { $0.number }
            }
        }
        #expect(runtime.reloadCount == 4)
        #expect(runtime.lastReload?.succeeded == true)
        #expect(folder.events().filter { $0 == "a create" }.count == 1)
        #expect(runtime.statuses.of("a")?.state == .running)
    }
}
