import Foundation
import Synchronization
import PluginTestSupport
import Testing

/// Runs the built `plughost` binary and captures its output.
struct Plughost {
    typealias Result = ChildCommand.Result

    /// The binary beside this test bundle.
    static let path = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("plughost").path

    static func run(_ arguments: [String], in directory: String? = nil, environment: [String: String] = [:]) throws -> Result {
        try ChildCommand.run(path, arguments, in: directory,
                             environment: environment.isEmpty ? nil : ProcessInfo.processInfo.environment.merging(environment) { $1 })
    }
}

@Suite("plughost command line")
struct CommandLineTests {
    /// A folder with one good plugin and several broken ones.
    private func brokenFolder() -> PluginFolder {
        let folder = PluginFolder()
        folder.copyFixture("libnoop.so")
        folder.manifest("noop.toml", [("noop", "libnoop.so:noop_entry")])
        folder.copyFixture("libbroken.so")
        folder.manifest("broken.toml", [("abi2", "libbroken.so:abi2_entry"), ("nocreate", "libbroken.so:no_create_entry")])
        folder.write("librandom.so", "not an elf at all")
        folder.manifest("random.toml", [("random", "librandom.so:entry")])
        folder.write("garbage.toml", "[plugin\n")
        return folder
    }

    @Test("check on a folder of broken plugins exits 1 with one line per problem naming file, alias and reason")
    func checkBroken() throws {
        let folder = brokenFolder()
        let result = try Plughost.run(["check", folder.path])
        #expect(result.status == 1)
        let failures = result.output.split(separator: "\n").filter { $0.hasPrefix("FAIL ") }
        #expect(failures.count == 4, "\(result.output)")
        #expect(failures.contains { $0.contains("libbroken.so: alias 'abi2': ABI mismatch: expected ABI 1.x, found 2.x") })
        #expect(failures.contains { $0.contains("alias 'nocreate'") && $0.contains("create") })
        #expect(failures.contains { $0.contains("librandom.so: alias 'random': not a shared library") })
        #expect(failures.contains { $0.contains("garbage.toml") && $0.contains("not valid TOML") })
        #expect(result.output.contains("ok   ") && result.output.contains("'noop'"))
    }

    @Test("check exits 0 on valid plugins: a folder, a manifest, a library")
    func checkValid() throws {
        let folder = PluginFolder()
        folder.copyFixture("libnoop.so")
        folder.manifest("noop.toml", [("noop", "libnoop.so:noop_entry")])
        for path in [folder.path, folder.path + "/noop.toml", folder.path + "/libnoop.so"] {
            let result = try Plughost.run(["check", path])
            #expect(result.status == 0, "\(path): \(result.output)")
            #expect(result.output.contains("alias 'noop' 1.0.0 (ABI 1.0)"))
        }
    }

    @Test("the example plugins pass check with the example host config")
    func examplesCheck() throws {
        let result = try Plughost.run(["check", Fixtures.examples, "--config", Fixtures.repositoryRoot + "/plughost.toml"])
        #expect(result.status == 0, "\(result.output)")
        for alias in ["audit", "greeter", "calc", "timing", "auth"] {
            #expect(result.output.contains("alias '\(alias)' 1.0.0 (ABI 1.3)"), "\(alias): \(result.output)")
        }
    }

    @Test("check on a library that no manifest names tries plughost_entry")
    func checkBareLibrary() throws {
        let folder = PluginFolder()
        folder.copyFixture("libnot_plugin.so")
        let result = try Plughost.run(["check", folder.path + "/libnot_plugin.so"])
        #expect(result.status == 1)
        #expect(result.output.contains("no symbol 'plughost_entry'"))
    }

    @Test("list shows every alias with namespace, library, version, ABI, state and reason")
    func list() throws {
        let folder = brokenFolder()
        let result = try Plughost.run(["list", "--plugins", folder.path])
        #expect(result.status == 0)
        let lines = result.output.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("ALIAS") == true)
        let noop = try #require(lines.first { $0.hasPrefix("noop ") })
        #expect(noop.contains("plughost.plugins") && noop.contains("libnoop.so") && noop.contains("1.0.0") && noop.contains("1.0") && noop.contains("loaded"))
        let abi2 = try #require(lines.first { $0.hasPrefix("abi2 ") })
        #expect(abi2.contains("failed") && abi2.contains("expected ABI 1.x, found 2.x"))
    }

    @Test("list marks aliases the config does not enable as disabled")
    func listDisabled() throws {
        let folder = brokenFolder()
        folder.write("host.toml", "[host]\nenabled = [\"noop\"]\n")
        let result = try Plughost.run(["list", "--plugins", folder.path, "--config", folder.path + "/host.toml"])
        #expect(result.output.split(separator: "\n").contains { $0.hasPrefix("abi2 ") && $0.contains("disabled") })
    }

    @Test("serve starts, fires the lifecycle, and shuts down cleanly on SIGTERM")
    func serve() throws {
        let folder = PluginFolder()
        folder.addRecorder("rec")
        folder.write("host.toml", "[host]\nenabled = [\"rec\"]\n[plugin.rec]\nlog = \"\(folder.log)\"\n")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Plughost.path)
        process.arguments = ["serve", "--plugins", folder.path, "--config", folder.path + "/host.toml"]
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while !folder.events().contains("rec plughost.post-start") && Date() < deadline { usleep(20_000) }
        #expect(folder.events().contains("rec plughost.post-start"))
        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let events = folder.events()
        #expect(Array(events.suffix(3)) == ["rec stop", "rec plughost.post-shutdown", "rec destroy"])
        #expect(events.contains("rec plughost.pre-shutdown"))
    }

    @Test("SIGTERM drains the request in flight, then fires the shutdown events")
    func drainOnSIGTERM() throws {
        let folder = PluginFolder()
        folder.add("ep", library: "libhttp_fixture.so", symbol: "http_endpoints_entry")
        folder.addRecorder("rec")
        folder.write("host.toml", "[host]\nenabled = [\"rec\", \"ep\"]\n[plugin.rec]\nlog = \"\(folder.log)\"\n")
        let logPath = folder.path + "/serve.log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Plughost.path)
        process.arguments = ["serve", "--plugins", folder.path, "--config", folder.path + "/host.toml", "--port", "0"]
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        // The port is in the log line "serving HTTP on 127.0.0.1:PORT".
        var port: Int?
        let deadline = Date().addingTimeInterval(20)
        while port == nil && Date() < deadline {
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            port = log.split(separator: "\n").first { $0.contains("serving HTTP on") }
                .flatMap { $0.split(separator: ":").last }.flatMap { Int($0) }
            usleep(20_000)
        }
        let bound = try #require(port)

        let reply = Mutex<String?>(nil)
        let request = Thread { reply.withLock { $0 = try? RawHTTP.send("GET /r/slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", port: bound) } }
        request.start()
        usleep(200_000)  // the request is now inside the 600 ms handler
        process.terminate()
        process.waitUntilExit()

        #expect(process.terminationStatus == 0)
        let answer = try #require(reply.withLock { $0 })
        #expect(answer.hasPrefix("HTTP/1.1 200") && answer.hasSuffix("slow done"), "\(answer)")
        let events = folder.events()
        let sent = try #require(events.firstIndex { $0.hasPrefix("rec plughost.response-sent 200") && $0.hasSuffix("/r/slow") })
        let preShutdown = try #require(events.firstIndex(of: "rec plughost.pre-shutdown"))
        #expect(sent < preShutdown, "the response went out before the plugins heard of the shutdown")
    }

    @Test("a bad host config stops the command with a message naming the file and key")
    func badHostConfig() throws {
        let folder = PluginFolder()
        folder.write("host.toml", "[host]\nenabeld = [\"x\"]\n")
        let result = try Plughost.run(["list", "--plugins", folder.path, "--config", folder.path + "/host.toml"])
        #expect(result.status != 0)
        #expect(result.output.contains("host.toml") && result.output.contains("host.enabeld"))
    }
}
