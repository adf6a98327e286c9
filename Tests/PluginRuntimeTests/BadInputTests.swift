import Foundation
import PluginRuntime
import PluginTestSupport
import Testing

/// One broken input: how to put it in a folder, and what the host must say.
struct BadInput: CustomTestStringConvertible, Sendable {
    let name: String
    let code: PluginError.Code
    /// Words the one-line error must contain (besides the file and alias).
    let reason: String
    /// The file the error must name (relative to the folder), if not the manifest.
    let file: String?
    let setup: @Sendable (PluginFolder) -> Void
    var extraConfig: [String: ConfigValue] = [:]

    var testDescription: String { name }
}

@Suite("Bad input: a clear error naming file, alias and reason; every other plugin still loads")
struct BadInputTests {
    static let cases: [BadInput] = [
        BadInput(name: "missing library file", code: .libraryNotFound, reason: "does not exist", file: "bad.toml") {
            $0.manifest("bad.toml", [("bad", "libmissing.so:entry")])
        },
        BadInput(name: "empty file", code: .notASharedLibrary, reason: "file is empty", file: "libempty.so") {
            $0.write("libempty.so", "")
            $0.manifest("bad.toml", [("bad", "libempty.so:entry")])
        },
        BadInput(name: "random bytes named .so", code: .notASharedLibrary, reason: "not an ELF file", file: "librandom.so") {
            $0.write("librandom.so", String(repeating: "\u{13}garbage\u{7f}", count: 100))
            $0.manifest("bad.toml", [("bad", "librandom.so:entry")])
        },
        BadInput(name: "a shared library that is not a plugin", code: .entryNotFound, reason: "no symbol 'plughost_entry'", file: "libnot_plugin.so") {
            $0.copyFixture("libnot_plugin.so")
            $0.manifest("bad.toml", [("bad", "libnot_plugin.so:plughost_entry")])
        },
        BadInput(name: "entry returns NULL", code: .entryReturnedNull, reason: "returned NULL", file: "libbroken.so") {
            $0.copyFixture("libbroken.so")
            $0.manifest("bad.toml", [("bad", "libbroken.so:null_entry")])
        },
        BadInput(name: "ABI major the host does not speak", code: .abiMismatch, reason: "expected ABI 1.x, found 2.x", file: "libbroken.so") {
            $0.copyFixture("libbroken.so")
            $0.manifest("bad.toml", [("bad", "libbroken.so:abi2_entry")])
        },
        BadInput(name: "ABI minor newer than the host's", code: .abiMismatch, reason: "needs ABI 1.99, host speaks 1.3", file: "libbroken.so") {
            $0.copyFixture("libbroken.so")
            $0.manifest("bad.toml", [("bad", "libbroken.so:newer_minor_entry")])
        },
        BadInput(name: "descriptor missing a required function", code: .invalidDescriptor, reason: "create", file: "libbroken.so") {
            $0.copyFixture("libbroken.so")
            $0.manifest("bad.toml", [("bad", "libbroken.so:no_create_entry")])
        },
        BadInput(name: "descriptor smaller than its ABI", code: .invalidDescriptor, reason: "size 16", file: "libbroken.so") {
            $0.copyFixture("libbroken.so")
            $0.manifest("bad.toml", [("bad", "libbroken.so:too_small_entry")])
        },
        BadInput(name: "parse_config rejects the config", code: .configRejected, reason: "key 'reject' is true", file: nil,
                 setup: { $0.addRecorder("bad") }, extraConfig: ["reject": .bool(true)]),
        BadInput(name: "library path with ../ escapes the folder", code: .libraryOutsidePluginsFolder, reason: "outside the plugins folder", file: "bad.toml") {
            let outside = $0.path + "-outside"
            try? FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
            try? FileManager.default.copyItem(atPath: Fixtures.library("librecorder.so"), toPath: outside + "/librecorder.so")
            $0.manifest("bad.toml", [("bad", "../\((outside as NSString).lastPathComponent)/librecorder.so:recorder_entry")])
        },
        BadInput(name: "absolute library path", code: .libraryOutsidePluginsFolder, reason: "absolute library path", file: "bad.toml") {
            $0.manifest("bad.toml", [("bad", "\(Fixtures.library("librecorder.so")):recorder_entry")])
        },
        BadInput(name: "symlink that leads out of the folder", code: .libraryOutsidePluginsFolder, reason: "symlink", file: "bad.toml") {
            try? FileManager.default.createSymbolicLink(atPath: $0.path + "/liblink.so", withDestinationPath: Fixtures.library("librecorder.so"))
            $0.manifest("bad.toml", [("bad", "liblink.so:recorder_entry")])
        },
        BadInput(name: "plugin fails in create", code: .createFailed, reason: "asked to fail in create", file: "librecorder.so",
                 setup: { $0.addRecorder("bad") }, extraConfig: ["fail": .string("create")]),
        BadInput(name: "plugin fails in create after subscribing", code: .createFailed, reason: "asked to fail late in create", file: "librecorder.so",
                 setup: { $0.addRecorder("bad") }, extraConfig: ["fail": .string("create-late")]),
        BadInput(name: "plugin fails in start", code: .startFailed, reason: "asked to fail in start", file: "librecorder.so",
                 setup: { $0.addRecorder("bad") }, extraConfig: ["fail": .string("start")]),
    ]

    @Test("the bad plugin fails with its reason, the good one runs", arguments: cases)
    func badInput(_ input: BadInput) throws {
        let folder = PluginFolder()
        folder.addRecorder("good")
        input.setup(folder)
        let config = folder.config(["good", "bad"], extra: ["bad": input.extraConfig])
        let runtime = try folder.start(config)
        defer { runtime.shutdown() }

        #expect(runtime.statuses.of("good")?.state == .running)
        #expect(runtime.generation?.aliases == ["good"])
        let status = try #require(runtime.statuses.of("bad"))
        #expect(status.state == .failed)
        let error = try #require(status.error)
        #expect(error.code == input.code, "\(error)")
        #expect(error.reason.contains(input.reason), "\(error)")
        #expect(error.alias == "bad")
        let line = error.description
        #expect(!line.contains("\n"))
        #expect(line.contains("'bad'"))
        if let file = input.file { #expect(line.contains(file), "\(line)") }
        // The good plugin saw the whole start-up, and events still flow without reaching the failed one.
        #expect(folder.events().contains("good plughost.post-start"))
        runtime.generation?.publish(EventNames.shared.id(for: "test.ping")!, text: "after")
        #expect(folder.events().contains("good test.ping after"))
    }

    @Test("a manifest that is not TOML is reported; plugins of other manifests load")
    func invalidManifest() throws {
        let folder = PluginFolder()
        folder.addRecorder("good")
        folder.write("broken.toml", "[plugin\nname = ")
        let runtime = try folder.start(folder.config(["good"]))
        defer { runtime.shutdown() }
        #expect(runtime.generation?.aliases == ["good"])
        let problem = try #require(runtime.statuses.first { $0.error?.code == .invalidManifest })
        #expect(problem.error!.description.contains("broken.toml"))
        #expect(problem.error!.reason.contains("not valid TOML"))
    }

    @Test("two manifests claiming one alias: neither loads, both files are named")
    func duplicateAlias() throws {
        let folder = PluginFolder()
        folder.addRecorder("good")
        folder.copyFixture("librecorder.so")
        folder.manifest("one.toml", [("twin", "librecorder.so:recorder_entry")])
        folder.write("sub/two.toml", "[plugin]\nname = \"two\"\nversion = \"1\"\n[entry-points.\"plughost.plugins\"]\ntwin = \"../librecorder.so:recorder_entry\"\n")
        let runtime = try folder.start(folder.config(["good", "twin"]))
        defer { runtime.shutdown() }
        #expect(runtime.generation?.aliases == ["good"])
        let error = try #require(runtime.statuses.of("twin")?.error)
        #expect(error.code == .duplicateAlias)
        #expect(error.reason.contains("one.toml") && error.reason.contains("two.toml"))
    }

    @Test("an enabled alias nobody declares is reported against the config")
    func unknownAlias() throws {
        let folder = PluginFolder()
        folder.addRecorder("good")
        let runtime = try folder.start(folder.config(["good", "ghost"]))
        defer { runtime.shutdown() }
        #expect(runtime.statuses.of("ghost")?.error?.code == .aliasNotFound)
        #expect(runtime.generation?.aliases == ["good"])
    }

    @Test("strict mode refuses to start when anything fails, and starts nothing")
    func strict() throws {
        let folder = PluginFolder()
        folder.addRecorder("good")
        folder.manifest("bad.toml", [("bad", "libmissing.so:entry")])
        let runtime = PluginRuntime(pluginsDirectory: folder.path, config: folder.config(["good", "bad"]))
        #expect(throws: PluginRuntime.StartFailure.self) { try runtime.start(strict: true) }
        #expect(runtime.generation == nil)
        #expect(!folder.events().contains("good create"))
    }

    @Test("a runtime starts once; a second start is refused and changes nothing")
    func startTwice() throws {
        let folder = PluginFolder()
        folder.addRecorder("a")
        let runtime = try folder.start(folder.config(["a"]))
        defer { runtime.shutdown() }
        #expect {
            try runtime.start()
        } throws: { error in
            (error as? PluginRuntime.StartFailure)?.problems.first?.code == .alreadyStarted
        }
        #expect(folder.events().filter { $0 == "a create" }.count == 1)
        #expect(runtime.generation?.aliases == ["a"])
    }

    @Test("a failed create is never destroyed; a failed start is destroyed but never stopped")
    func lifecycleOfFailures() throws {
        let folder = PluginFolder()
        folder.addRecorder("c")
        folder.addRecorder("s")
        let runtime = try folder.start(folder.config(["c", "s"], extra: ["c": ["fail": .string("create")], "s": ["fail": .string("start")]]))
        runtime.shutdown()
        let events = folder.events()
        #expect(events.filter { $0.hasPrefix("c ") } == ["c create"])
        #expect(events.contains("s destroy"))
        #expect(!events.contains("s stop"))
        #expect(!events.contains("s plughost.post-start"), "a plugin whose start failed gets no more events")
    }
}
