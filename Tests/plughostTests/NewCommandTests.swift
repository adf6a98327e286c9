import Foundation
import PluginTestSupport
import Testing
@testable import plughost
#if canImport(Glibc)
import Glibc
#endif

/// Whether `cargo` is on PATH: the Makefile of a generated Rust plugin runs it.
private let cargoIsOnPath: Bool = (ProcessInfo.processInfo.environment["PATH"] ?? "")
    .split(separator: ":")
    .contains { FileManager.default.isExecutableFile(atPath: "\($0)/cargo") }

/// The repository's PluginSDK folder, as `plughost new --sdk` takes it.
private let sdk = Fixtures.repositoryRoot + "/PluginSDK"

/// Runs `make -s -C folder` and captures its output.
private func make(_ folder: String) throws -> Plughost.Result {
    try ChildCommand.run("make", ["-s", "-C", folder])
}

/// The permission bits of `path` (lstat), nil when nothing is there.
private func mode(_ path: String) -> mode_t? {
    var info = stat()
    return lstat(path, &info) == 0 ? info.st_mode & 0o7777 : nil
}

/// The real path of `path`, symlinks resolved.
private func realPath(_ path: String) -> String {
    guard let resolved = realpath(path, nil) else { return path }
    defer { free(resolved) }
    return String(cString: resolved)
}

@Suite("plughost new")
struct NewCommandTests {
    /// `plughost new NAME --lang LANGUAGE` into a temporary plugins folder, then what the
    /// README promises: `make -C` builds it, `plughost check` passes (and fails before make),
    /// its parse_config refuses a bad greeting, and a real `plughost serve` answers GET /NAME/hello.
    private func roundTrip(_ name: String, language: String, library: String, files: [String]) throws {
        let folder = PluginFolder()
        let plugins = folder.path + "/plugins"
        let plugin = plugins + "/" + name

        let created = try Plughost.run(["new", name, "--lang", language, "--dir", plugins, "--sdk", sdk])
        #expect(created.status == 0, "\(created.output)")
        #expect(created.output.contains("make -C \(plugin)") && created.output.contains("plughost check \(plugin)"), "\(created.output)")
        // The host refuses files and folders others can write: 0755 and 0644, whatever the umask.
        #expect(mode(plugin) == 0o755)
        for file in ["README.md", "\(name).toml", "Makefile", ".gitignore"] + files {
            #expect(mode(plugin + "/" + file) == 0o644, "\(file)")
        }
        let makefile = try String(contentsOfFile: plugin + "/Makefile", encoding: .utf8)
        #expect(makefile.contains("PLUGHOST_SDK ?= \(realPath(sdk))\n"), "\(makefile)")
        let readme = try String(contentsOfFile: plugin + "/README.md", encoding: .utf8)
        for line in ["make -C \(plugin)", "plughost check \(plugin)", "enabled", "plughost reload", "kill -HUP $(cat plughost.pid)"] {
            #expect(readme.contains(line), "README lacks \(line)")
        }

        // The manifest names a library make has not built yet.
        let before = try Plughost.run(["check", plugin])
        #expect(before.status == 1 && before.output.contains("library not found"), "\(before.output)")

        let built = try make(plugin)
        #expect(built.status == 0, "\(built.output)")
        #expect(mode(plugin + "/" + library) != nil, "make built no \(library): \(built.output)")

        let checked = try Plughost.run(["check", plugin])
        #expect(checked.status == 0, "\(checked.output)")
        #expect(checked.output.contains("alias '\(name)' 0.1.0 (ABI 1.3)"), "\(checked.output)")

        folder.write("bad.toml", "[plugin.\(name)]\ngreeting = 42\n")
        let badGreeting = try Plughost.run(["check", plugin, "--config", folder.path + "/bad.toml"])
        #expect(badGreeting.status == 1 && badGreeting.output.contains("key 'greeting' must be a string"), "\(badGreeting.output)")
        folder.write("unknown.toml", "[plugin.\(name)]\ngretting = \"Hi\"\n")
        let unknownKey = try Plughost.run(["check", plugin, "--config", folder.path + "/unknown.toml"])
        #expect(unknownKey.status == 1 && unknownKey.output.contains("unknown key 'gretting'"), "\(unknownKey.output)")

        folder.write("host.toml", "[host]\nenabled = [\"\(name)\"]\n\n[plugin.\(name)]\ngreeting = \"Ahoy\"\n")
        // ServeProcess serves `folder` with folder/host.toml; the later --plugins wins, so this serves
        // plugins/ alone. --strict: a stray manifest in the plugin's folder (a Cargo.toml) fails the start.
        let server = try ServeProcess(folder: folder, extraArguments: ["--plugins", plugins, "--workers", "0", "--strict"])
        let first = server.get("/\(name)/hello")
        #expect(first.status == 200, "\(first.body)\n\(server.log)")
        let one = try #require(try JSONSerialization.jsonObject(with: Data(first.body.utf8)) as? [String: Any], "\(first.body)")
        #expect(one["plugin"] as? String == name)
        #expect(one["message"] as? String == "Ahoy from \(name)!", "\(first.body)")
        #expect(one["hellos"] as? Int == 1, "\(first.body)")
        let seenFirst = try #require(one["requests_seen"] as? Int, "\(first.body)")
        #expect(seenFirst >= 1, "the host publishes request-received before the endpoint runs: \(first.body)")

        let second = server.get("/\(name)/hello")
        let two = try #require(try JSONSerialization.jsonObject(with: Data(second.body.utf8)) as? [String: Any], "\(second.body)")
        #expect(two["hellos"] as? Int == 2, "\(second.body)")
        let seenSecond = try #require(two["requests_seen"] as? Int, "\(second.body)")
        #expect(seenSecond > seenFirst, "the request-received subscriber did not count: \(seenFirst) then \(seenSecond)")
        #expect(server.log.contains("greeting is 'Ahoy'"), "\(server.log)")
        #expect(server.stop() == 0, "\(server.log)")
    }

    @Test("a C plugin: make builds it, check passes, serve answers GET /NAME/hello with the count")
    func cPlugin() throws {
        try roundTrip("hello-c", language: "c", library: "libhello_c.so", files: ["hello-c.c"])
    }

    @Test("a Swift plugin: a plain make builds the plugin (not only the SDK archive), check passes, serve answers")
    func swiftPlugin() throws {
        // The examples' build makes the SDK's Swift archive where plugin.mk keeps it, under
        // the fixtures' lock: the plugin's make then only links it, and never writes it at
        // the same time as another test's build.
        _ = Fixtures.examples
        try roundTrip("Hello-Swift", language: "swift", library: "libhello_swift.so", files: ["HelloSwiftPlugin.swift"])
    }

    @Test("a Rust plugin: make runs cargo and installs the library, check passes, serve answers",
          .enabled(if: cargoIsOnPath, "cargo is not on PATH: the Rust template is not built"))
    func rustPlugin() throws {
        try roundTrip("hello-rs", language: "rust", library: "libhello_rs.so",
                      files: [".crate/Cargo.toml", ".crate/src/lib.rs"])
    }

    @Test("a name that is not a valid alias (or does not start with a letter) is refused, naming the rule, and nothing is written",
          arguments: ["bad.name", "my plugin", "2fa", "_x", "-x", "naïve", "", String(repeating: "a", count: 65)])
    func invalidName(_ name: String) throws {
        let folder = PluginFolder()
        // "--" so that a name starting with '-' is the argument, not an option.
        let result = try Plughost.run(["new", "--lang", "c", "--dir", folder.path + "/plugins", "--sdk", sdk, "--", name])
        #expect(result.status == 64, "\(result.output)")
        #expect(result.output.contains("is not a valid plugin name"), "\(result.output)")
        #expect(result.output.contains("letters, digits, '-' and '_', starting with a letter"), "\(result.output)")
        #expect(mode(folder.path + "/plugins") == nil, "a refused name wrote something")
    }

    @Test("an existing folder (or file) is refused and left as it was: plughost new never overwrites")
    func existingFolder() throws {
        let folder = PluginFolder()
        folder.write("plugins/demo/keep.txt", "mine\n")
        let result = try Plughost.run(["new", "demo", "--lang", "c", "--dir", folder.path + "/plugins", "--sdk", sdk])
        #expect(result.status == 64, "\(result.output)")
        #expect(result.output.contains("plugins/demo already exists: plughost new never overwrites"), "\(result.output)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path + "/plugins/demo") == ["keep.txt"])
        #expect(try String(contentsOfFile: folder.path + "/plugins/demo/keep.txt", encoding: .utf8) == "mine\n")

        folder.write("plugins/file", "not a folder\n")
        let onFile = try Plughost.run(["new", "file", "--lang", "rust", "--dir", folder.path + "/plugins", "--sdk", sdk])
        #expect(onFile.status == 64 && onFile.output.contains("already exists"), "\(onFile.output)")
        #expect(try String(contentsOfFile: folder.path + "/plugins/file", encoding: .utf8) == "not a folder\n")
    }

    @Test("without --sdk it finds the PluginSDK above the plughost executable; --sdk must name a PluginSDK folder")
    func findsTheSDK() throws {
        let folder = PluginFolder()
        // From a folder with no PluginSDK above it, and PLUGHOST_SDK empty (unset), the
        // executable's checkout is where the SDK is found.
        let found = try Plughost.run(["new", "found", "--lang", "c", "--dir", "plugins"], in: folder.path, environment: ["PLUGHOST_SDK": ""])
        #expect(found.status == 0, "\(found.output)")
        let makefile = try String(contentsOfFile: folder.path + "/plugins/found/Makefile", encoding: .utf8)
        #expect(makefile.contains("PLUGHOST_SDK ?= \(realPath(sdk))\n"), "\(makefile)")

        let wrong = try Plughost.run(["new", "wrong", "--lang", "c", "--dir", folder.path + "/plugins", "--sdk", folder.path])
        #expect(wrong.status == 64 && wrong.output.contains("is not a PluginSDK folder"), "\(wrong.output)")
        #expect(mode(folder.path + "/plugins/wrong") == nil)
    }

    @Test("files are 0644 and folders 0755 even under umask 002 (the host refuses group-writable ones)")
    func modesUnderGroupUmask() throws {
        let folder = PluginFolder()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "umask 002 && exec \"$0\" new umasked --lang rust --dir \"$1\" --sdk \"$2\"",
                             Plughost.path, folder.path + "/plugins", sdk]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let plugin = folder.path + "/plugins/umasked"
        for path in [folder.path + "/plugins", plugin, plugin + "/.crate", plugin + "/.crate/src"] {
            #expect(mode(path) == 0o755, "\(path)")
        }
        for file in ["README.md", "umasked.toml", "Makefile", ".gitignore", ".crate/Cargo.toml", ".crate/src/lib.rs"] {
            #expect(mode(plugin + "/" + file) == 0o644, "\(file)")
        }
    }
}

@Suite("The examples and the templates of plughost new")
struct ExampleTemplateTests {
    @Test("plugins/hello-rust is exactly what `plughost new hello-rust --lang rust --dir plugins` writes (the SDK named relative to it)")
    func rustExampleIsTheTemplate() throws {
        let example = Fixtures.repositoryRoot + "/plugins/hello-rust"
        let files = PluginTemplates.files(name: "hello-rust", language: .rust, sdkPath: "../../PluginSDK", directory: "plugins")
        #expect(files.count == 6)
        for file in files {
            let committed = try String(contentsOfFile: example + "/" + file.path, encoding: .utf8)
            #expect(committed == file.contents, "plugins/hello-rust/\(file.path) differs from its template: regenerate it with plughost new")
        }
    }
}
