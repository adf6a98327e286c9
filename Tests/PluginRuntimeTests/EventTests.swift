import Foundation
import PluginRuntime
import PluginTestSupport
import Testing

@Suite("Events, checks, services: config order is priority")
struct EventTests {
    /// Lines about the lifecycle, without the probes and check lines.
    private func lifecycle(_ events: [String]) -> [String] {
        events.filter { !$0.contains("late-subscribe") && !$0.contains("publish-builtin") }
    }

    @Test("lifecycle runs once each, in order: create, pre-start, start, loaded, post-start, then the shutdown mirror")
    func lifecycleOrder() throws {
        let folder = PluginFolder()
        folder.addRecorder("a")
        folder.addRecorder("b")
        let runtime = try folder.start(folder.config(["a", "b"]))
        runtime.shutdown()
        runtime.shutdown()  // idempotent
        #expect(lifecycle(folder.events()) == [
            "a create", "b create",
            "a plughost.pre-start", "b plughost.pre-start",
            "a start", "b start",
            "a plughost.plugin-loaded a", "b plughost.plugin-loaded a",
            "a plughost.plugin-loaded b", "b plughost.plugin-loaded b",
            "a plughost.post-start", "b plughost.post-start",
            "a plughost.pre-shutdown", "b plughost.pre-shutdown",
            "a plughost.plugin-unloaded b", "b plughost.plugin-unloaded b", "b stop",
            "a plughost.plugin-unloaded a", "b plughost.plugin-unloaded a", "a stop",
            "a plughost.post-shutdown", "b plughost.post-shutdown",
            "b destroy", "a destroy",
        ])
        #expect(runtime.statuses.allSatisfy { $0.state == .stopped })
    }

    @Test("subscribe outside create and publishing a built-in event are refused")
    func hostRules() throws {
        let folder = PluginFolder()
        folder.addRecorder("a")
        let runtime = try folder.start(folder.config(["a"]))
        runtime.shutdown()
        #expect(folder.events().contains("a late-subscribe 5"))  // PH_ERR_STATE
        #expect(folder.events().contains("a publish-builtin 1"))  // PH_ERR_INVALID
    }

    @Test("events reach plugins in config order, not name order; priority comes first")
    func orderAndPriority() throws {
        let folder = PluginFolder()
        for alias in ["a", "b", "c"] { folder.addRecorder(alias) }
        let runtime = try folder.start(folder.config(["c", "a", "b"], extra: ["b": ["priority": .integer(-5)]]))
        defer { runtime.shutdown() }
        let ping = try #require(EventNames.shared.id(for: "test.ping"))
        runtime.generation!.publish(ping, text: "x")
        #expect(folder.events().filter { $0.contains("test.ping") } == ["b test.ping x", "c test.ping x", "a test.ping x"])
    }

    @Test("with no config every alias of the default namespace loads, in name order")
    func defaultOrder() throws {
        let folder = PluginFolder()
        for alias in ["zed", "amy", "kim"] { folder.addRecorder(alias) }
        folder.copyFixture("librecorder.so")
        folder.manifest("other.toml", namespace: "other.ns", [("skipped", "librecorder.so:recorder_entry")])
        var config = HostConfig()
        for alias in ["zed", "amy", "kim"] { config.pluginConfigs[alias] = ["log": .string(folder.log)] }
        let runtime = try folder.start(config)
        defer { runtime.shutdown() }
        #expect(runtime.generation?.aliases == ["amy", "kim", "zed"])
        #expect(runtime.statuses.of("skipped") == nil)
    }

    @Test("aliases found but not enabled are disabled, not loaded")
    func disabled() throws {
        let folder = PluginFolder()
        folder.addRecorder("on")
        folder.addRecorder("off")
        let runtime = try folder.start(folder.config(["on"]))
        defer { runtime.shutdown() }
        #expect(runtime.statuses.of("off")?.state == .disabled)
        #expect(!folder.events().contains("off create"))
    }

    @Test("a check stops at the first deny; later subscribers are not asked")
    func firstDenyWins() throws {
        let folder = PluginFolder()
        for alias in ["a", "b", "c"] { folder.addRecorder(alias) }
        let runtime = try folder.start(folder.config(["a", "b", "c"], extra: [
            "a": ["allow": .bool(true)], "b": ["deny": .string("eve")], "c": ["deny": .string("eve")],
        ]))
        defer { runtime.shutdown() }
        let check = try #require(EventNames.shared.id(for: "test.check"))
        let generation = try #require(runtime.generation)
        let denied = "eve".utf8CString.withUnsafeBytes { generation.check(check, payload: UnsafeRawBufferPointer(rebasing: $0.dropLast())) }
        #expect(denied == .deny(by: "b", reason: "b denies eve"))
        #expect(folder.events().filter { $0.contains("check") } == ["a check eve", "b check eve"])
        let allowed = "bob".utf8CString.withUnsafeBytes { generation.check(check, payload: UnsafeRawBufferPointer(rebasing: $0.dropLast())) }
        #expect(allowed == .allow)
    }

    @Test("checks with only abstaining subscribers abstain")
    func abstain() throws {
        let folder = PluginFolder()
        folder.addRecorder("a")
        let runtime = try folder.start(folder.config(["a"]))
        defer { runtime.shutdown() }
        #expect(runtime.generation!.check(EventNames.shared.id(for: "test.check")!) == .abstain)
        #expect(runtime.generation!.check(EventNames.shared.id(for: "nobody.listens")!) == .abstain)
    }

    @Test("plugins publish custom events to each other")
    func customEvents() throws {
        let folder = PluginFolder()
        folder.addRecorder("sender")
        folder.addRecorder("receiver")
        let runtime = try folder.start(folder.config(["receiver", "sender"], extra: ["sender": ["publish": .string("test.ping")]]))
        defer { runtime.shutdown() }
        #expect(folder.events().contains("receiver test.ping hello"))
        #expect(folder.events().contains("sender test.ping hello"))
    }

    @Test("services: the first provider in config order keeps an id; others look it up from start")
    func services() throws {
        let folder = PluginFolder()
        for alias in ["first", "second", "user"] { folder.addRecorder(alias) }
        let runtime = try folder.start(folder.config(["first", "second", "user"], extra: [
            "first": ["provide": .string("test.svc/1")], "second": ["provide": .string("test.svc/1")],
            "user": ["lookup": .string("test.svc/1")],
        ]))
        defer { runtime.shutdown() }
        let events = folder.events()
        #expect(events.contains("first provided test.svc/1"))
        #expect(events.contains("second provide-refused test.svc/1"))
        #expect(events.contains("user service first"))
    }

    @Test("a service of a plugin whose start failed is withdrawn")
    func serviceOfFailedPlugin() throws {
        let folder = PluginFolder()
        folder.addRecorder("provider")
        folder.addRecorder("user")
        let runtime = try folder.start(folder.config(["provider", "user"], extra: [
            "provider": ["provide": .string("test.svc/1"), "fail": .string("start")],
            "user": ["lookup": .string("test.svc/1")],
        ]))
        runtime.shutdown()
        #expect(runtime.statuses.of("provider")?.state == .failed)
        #expect(folder.events().contains("user service none"))
        #expect(folder.events().contains("provider provided test.svc/1"))
    }

    @Test("a plugin that is not thread-safe is called under its lock from many threads")
    func serialisedPlugin() async throws {
        let folder = PluginFolder()
        folder.addRecorder("serial", symbol: "recorder_serial_entry")
        let runtime = try folder.start(folder.config(["serial"]))
        defer { runtime.shutdown() }
        let generation = try #require(runtime.generation)
        let ping = EventNames.shared.id(for: "test.ping")!
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask { for index in 0..<50 { generation.publish(ping, text: "\(worker)-\(index)") } }
            }
        }
        #expect(folder.events().filter { $0.contains("test.ping") }.count == 200)
        #expect(!folder.events().contains("serial OVERLAP"), "two callbacks ran at once in a plugin that is not thread-safe")
    }

    @Test("event names: built-ins keep their ids, custom names get stable ids, invalid names none")
    func eventNames() {
        #expect(EventNames.shared.id(for: "plughost.pre-start") == .preStart)
        let first = EventNames.shared.id(for: "my.custom-event")
        #expect(first != nil && first!.isCustom)
        #expect(EventNames.shared.id(for: "my.custom-event") == first)
        #expect(EventNames.shared.id(for: "has space") == nil)
        #expect(EventNames.shared.id(for: "") == nil)
        #expect(EventNames.shared.id(for: "plughost.made-up") == nil)
    }
}
