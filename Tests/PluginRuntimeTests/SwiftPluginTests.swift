import Foundation
import PluginRuntime
import PluginTestSupport
import Testing

@Suite("Swift plugins through the PluginSDK layer")
struct SwiftPluginTests {
    @Test("a Swift plugin loads, gets events and checks, uses the cache, and stays mapped after shutdown")
    func swiftPlugin() throws {
        let folder = PluginFolder()
        folder.copyFixture("libswift_recorder.so")
        folder.manifest("swift.toml", [("sw", "libswift_recorder.so:swift_recorder_entry")])
        folder.addRecorder("c")
        let runtime = try folder.start(folder.config(["sw", "c"], extra: ["sw": ["deny": .string("eve")]]))
        let generation = try #require(runtime.generation)
        #expect(runtime.statuses.of("sw")?.version == "3.0.0")
        generation.publish(EventNames.shared.id(for: "test.ping")!, text: "one")
        generation.publish(EventNames.shared.id(for: "test.ping")!, text: "two")
        let verdict = "eve".utf8CString.withUnsafeBytes {
            generation.check(EventNames.shared.id(for: "test.check")!, payload: UnsafeRawBufferPointer(rebasing: $0.dropLast()))
        }
        #expect(verdict == .deny(by: "sw", reason: "swift denies eve"))
        runtime.shutdown()

        let events = folder.events().filter { $0.hasPrefix("sw ") }
        #expect(events == [
            "sw create", "sw start", "sw cache v", "sw plughost.post-start",
            "sw test.ping one #1", "sw test.ping two #2", "sw check eve", "sw stop", "sw destroy",
        ])
        // The Swift image (loaded from a shadow copy) is never unloaded; the C one is closed.
        #expect(runtime.retainedSwiftImages == 1)
    }

    @Test("two aliases declared in one library share one image, as with a plain dlopen")
    func aliasesShareAnImage() throws {
        let folder = PluginFolder()
        folder.copyFixture("libswift_recorder.so")
        folder.manifest("swift.toml", [("one", "libswift_recorder.so:swift_recorder_entry"),
                                       ("two", "libswift_recorder.so:swift_recorder_entry")])
        let runtime = try folder.start(folder.config(["one", "two"]))
        #expect(runtime.generation?.aliases == ["one", "two"])
        runtime.shutdown()
        // One shadow copy was loaded for both: one Swift image stays mapped, not two.
        #expect(runtime.retainedSwiftImages == 1)
    }

    @Test("a Swift plugin's validate refuses an unknown key, naming it")
    func swiftConfigRejected() throws {
        let folder = PluginFolder()
        folder.copyFixture("libswift_recorder.so")
        folder.manifest("swift.toml", [("sw", "libswift_recorder.so:swift_recorder_entry")])
        let runtime = try folder.start(folder.config(["sw"], extra: ["sw": ["colour": .string("red")]]))
        defer { runtime.shutdown() }
        let error = try #require(runtime.statuses.of("sw")?.error)
        #expect(error.code == .configRejected)
        #expect(error.reason.contains("unknown key 'colour'"))
    }

    @Test("a Swift plugin that throws in init fails create with its message")
    func swiftCreateFails() throws {
        let folder = PluginFolder()
        folder.copyFixture("libswift_recorder.so")
        folder.manifest("swift.toml", [("sw", "libswift_recorder.so:swift_recorder_entry")])
        let runtime = try folder.start(folder.config(["sw"], extra: ["sw": ["fail": .string("create")]]))
        defer { runtime.shutdown() }
        #expect(runtime.statuses.of("sw")?.error?.reason == "asked to fail in create")
    }
}
