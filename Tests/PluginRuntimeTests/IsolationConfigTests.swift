import Logging
@testable import PluginRuntime
import PluginTestSupport
import Testing

@Suite("Isolation config")
struct IsolationConfigTests {
    /// The host config `text`, written to a file and read.
    private func load(_ text: String) throws -> HostConfig {
        let folder = PluginFolder()
        folder.write("host.toml", text)
        return try HostConfig.load(path: folder.path + "/host.toml")
    }

    @Test("an alias without [isolation.ALIAS] runs in-process; mode = \"process\" alone takes every default")
    func defaults() throws {
        let config = try load("""
            [isolation.greeter]
            mode = "process"
            [isolation.plain]
            """)
        #expect(config.isolation(of: "other") == .inProcess)
        #expect(config.isolation(of: "plain") == .inProcess)
        #expect(IsolationSettings.inProcess.summary == "in-process")
        let greeter = config.isolation(of: "greeter")
        #expect(greeter == IsolationSettings(mode: .process, memoryMB: 512, openFiles: 256, sandbox: .strict, callTimeout: .seconds(10)))
        #expect(greeter.summary == "process (strict, 512 MiB, 256 files)")
        #expect(LoadPolicy(config).isolation == config.isolation)
    }

    @Test("a full table is read")
    func fullTable() throws {
        let config = try load("""
            [isolation.greeter]
            mode = "process"
            memory-mb = 256
            open-files = 64
            sandbox = "none"
            call-timeout-ms = 2500
            """)
        let greeter = config.isolation(of: "greeter")
        #expect(greeter == IsolationSettings(mode: .process, memoryMB: 256, openFiles: 64, sandbox: .none, callTimeout: .milliseconds(2500)))
        #expect(greeter.summary == "process (none, 256 MiB, 64 files)")
    }

    @Test("a bad value, an unknown key or a process-only key with in-process is refused naming the file, the alias and the key", arguments: [
        ("mode = \"procss\"", #"isolation.greeter.mode must be "in-process" or "process", found "procss""#),
        ("mode = 1", #"isolation.greeter.mode must be "in-process" or "process", found 1"#),
        ("mode = \"process\"\nmemory-mb = 15", "isolation.greeter.memory-mb must be an integer from 16 to 1048576, found 15"),
        ("mode = \"process\"\nmemory-mb = 1048577", "isolation.greeter.memory-mb must be an integer from 16 to 1048576, found 1048577"),
        ("mode = \"process\"\nmemory-mb = \"256\"", #"isolation.greeter.memory-mb must be an integer from 16 to 1048576, found "256""#),
        ("mode = \"process\"\nopen-files = 0", "isolation.greeter.open-files must be an integer from 16 to 1048576, found 0"),
        ("mode = \"process\"\nsandbox = \"loose\"", #"isolation.greeter.sandbox must be "strict" or "none", found "loose""#),
        ("mode = \"process\"\ncall-timeout-ms = 0", "isolation.greeter.call-timeout-ms must be a positive integer, found 0"),
        ("mode = \"process\"\ncall-timeout-ms = 1.5", "isolation.greeter.call-timeout-ms must be a positive integer, found 1.5"),
        ("mode = \"process\"\nmemory = 256",
         "unknown key 'isolation.greeter.memory' (known: mode, memory-mb, open-files, sandbox, call-timeout-ms)"),
        ("memory-mb = 256", #"isolation.greeter.memory-mb is set, but memory-mb, open-files, sandbox, call-timeout-ms only apply with mode = "process""#),
        ("mode = \"in-process\"\nsandbox = \"none\"", #"isolation.greeter.sandbox is set, but"#),
        ("mode = \"in-process\"\nopen-files = 64", #"isolation.greeter.open-files is set, but"#),
        ("mode = \"in-process\"\ncall-timeout-ms = 100", #"isolation.greeter.call-timeout-ms is set, but"#),
    ])
    func badValue(body: String, expected: String) {
        #expect {
            try load("[isolation.greeter]\n" + body + "\n")
        } throws: { error in
            let error = error as! PluginError
            return error.code == .invalidHostConfig && error.file.hasSuffix("host.toml") && error.alias == "greeter"
                && error.reason.contains(expected)
        }
    }

    @Test("[isolation] that is not one table per alias is refused", arguments: [
        ("isolation = 1\n", "'isolation' must hold one table per alias", nil),
        ("[isolation]\ngreeter = \"process\"\n", "[isolation.greeter] must be a table, found a string", "greeter"),
    ] as [(String, String, String?)])
    func notATable(text: String, expected: String, alias: String?) {
        #expect {
            try load(text)
        } throws: { error in
            let error = error as! PluginError
            return error.code == .invalidHostConfig && error.file.hasSuffix("host.toml") && error.alias == alias
                && error.reason.contains(expected)
        }
    }

    @Test("the unknown top-level key message lists [isolation.ALIAS]")
    func topLevelKeys() {
        #expect {
            try load("isolations = 1\n")
        } throws: { error in
            (error as! PluginError).reason.contains("[isolation.ALIAS]")
        }
    }

    @Test("a plugin's fingerprint changes when only its isolation does, and not when another alias's does")
    func fingerprint() {
        let entry = EntryPoint(namespace: HostConfig.defaultNamespace, alias: "greeter", manifestPath: "/nonexistent/pkg.toml",
                               packageName: "pkg", packageVersion: "1.0.0", library: "libgreeter.so", symbol: "greeter_entry")
        var config = HostConfig(enabled: ["greeter"])
        let before = PluginFingerprint(entry, config: config)
        config.isolation["greeter"] = IsolationSettings(mode: .inProcess)
        #expect(PluginFingerprint(entry, config: config) == before, "an explicit in-process table is the default")
        config.isolation["other"] = IsolationSettings(mode: .process)
        #expect(PluginFingerprint(entry, config: config) == before)
        config.isolation["greeter"] = IsolationSettings(mode: .process)
        let process = PluginFingerprint(entry, config: config)
        #expect(process != before)
        config.isolation["greeter"]?.memoryMB = 1024
        #expect(PluginFingerprint(entry, config: config) != process)
    }

    @Test("a reload re-creates a running plugin whose isolation changed, reusing its library, and keeps the others")
    func reloadPlan() throws {
        let folder = PluginFolder()
        folder.addRecorder("a")
        folder.addRecorder("b")
        let runtime = PluginRuntime(pluginsDirectory: folder.path, config: folder.config(["a", "b"]),
                                    logger: Logger(label: "quiet", factory: { _ in SwiftLogNoOpLogHandler() }))
        try runtime.start()
        defer { runtime.shutdown() }
        var config = folder.config(["a", "b"])
        config.isolation["a"] = IsolationSettings(mode: .process)
        let plan = ReloadPlan(plan: PluginScan(directory: folder.path, config: config).plan, config: config,
                              running: runtime.generation!.instances, failed: [:])
        let decisions = Dictionary(uniqueKeysWithValues: plan.decisions.map { entry, decision in
            switch decision {
            case .keep: (entry.alias, "keep")
            case .build(.some, .some): (entry.alias, "build reusing")
            default: (entry.alias, "other")
            }
        })
        #expect(decisions == ["a": "build reusing", "b": "keep"])
    }
}
