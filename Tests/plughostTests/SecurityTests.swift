import Foundation
import PluginRuntime
import PluginTestSupport
import Testing

/// A plugins folder serving build v1 of the versioned fixture, its host config `host.toml` with `hostExtra` under `[host]`.
private func servedFolder(hostExtra: String = "", tables: String = "") -> PluginFolder {
    let folder = PluginFolder()
    folder.manifest("versioned/versioned.toml", [("versioned", "libversioned.so:versioned_entry")])
    try! FileManager.default.copyItem(atPath: Fixtures.library("versioned/v1/libversioned.so"), toPath: folder.path + "/versioned/libversioned.so")
    folder.write("host.toml", "[host]\nenabled = [\"versioned\"]\n\(hostExtra)\n\(tables)")
    return folder
}

@Suite("Admin access, slow clients and malformed files on a running plughost serve")
struct ServeSecurityTests {
    private static let hasOutsideAddress = RawHTTP.nonLoopbackAddress() != nil

    @Test("admin = loopback (the default): the listing answers loopback clients and refuses others with 403",
          .enabled(if: hasOutsideAddress, "this machine has no non-loopback IPv4 address"))
    func loopbackOnly() throws {
        let server = try ServeProcess(folder: servedFolder(), extraArguments: ["--host", "0.0.0.0"])
        let outside = try #require(RawHTTP.nonLoopbackAddress())
        #expect(server.get("/_plughost/plugins").status == 200)
        let refused = try RawHTTP.send("GET /_plughost/plugins HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", port: server.port, host: outside)
        #expect(refused.hasPrefix("HTTP/1.1 403"), "\(refused)")
        #expect(!refused.contains("libversioned.so"), "the refusal leaks the listing")
        #expect(server.stop() == 0)
    }

    @Test("admin = token: without or with a wrong bearer token 401 from anywhere, with the token 200 (listing and reload)",
          .enabled(if: hasOutsideAddress, "this machine has no non-loopback IPv4 address"))
    func bearerToken() throws {
        let folder = servedFolder(hostExtra: "admin = \"token\"\nadmin-token = \"s3cret-token\"")
        let server = try ServeProcess(folder: folder, extraArguments: ["--host", "0.0.0.0"])
        let outside = try #require(RawHTTP.nonLoopbackAddress())
        func get(_ authorization: String?, host: String) throws -> String {
            let header = authorization.map { "Authorization: \($0)\r\n" } ?? ""
            return try RawHTTP.send("GET /_plughost/plugins HTTP/1.1\r\nHost: x\r\n\(header)Connection: close\r\n\r\n", port: server.port, host: host)
        }
        #expect(try get(nil, host: "127.0.0.1").hasPrefix("HTTP/1.1 401"))
        #expect(try get("Bearer s3cret-tokeX", host: outside).hasPrefix("HTTP/1.1 401"))
        #expect(try get("Bearer s3cret-token-and-more", host: outside).hasPrefix("HTTP/1.1 401"))
        #expect(try get("Basic s3cret-token", host: outside).hasPrefix("HTTP/1.1 401"))
        #expect(try get("Bearer s3cret-token", host: outside).hasPrefix("HTTP/1.1 200"))
        let reload = try RawHTTP.send("POST /_plughost/reload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret-token\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                                      port: server.port, host: outside)
        #expect(reload.hasPrefix("HTTP/1.1 200"), "\(reload)")
        #expect(server.stop() == 0)
    }

    @Test("admin paths answer only their canonical spelling: //_plughost/plugins and /_plughost//reload answer 404, never the listing")
    func canonicalAdminPaths() throws {
        let server = try ServeProcess(folder: servedFolder())
        let doubled = server.get("//_plughost/plugins")
        #expect(doubled.status == 404 && !doubled.body.contains("libversioned"), "\(doubled)")
        #expect(server.send("POST /_plughost//reload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").status == 404)
        #expect(server.lastReload == nil)
        #expect(server.get("/_plughost/plugins").status == 200)
        #expect(server.stop() == 0)
    }

    @Test("admin = off: every admin path answers 404, even from loopback; plugins still serve")
    func adminOff() throws {
        let server = try ServeProcess(folder: servedFolder(hostExtra: "admin = \"off\""))
        #expect(server.get("/_plughost/plugins").status == 404)
        #expect(server.send("POST /_plughost/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").status == 404)
        #expect(server.lastReload == nil)
        #expect(server.get("/version").body == "v1")
        #expect(server.stop() == 0)
    }

    @Test("a connection that sends its headers slower than header-timeout-ms is closed; a prompt one is served")
    func slowHeaders() throws {
        let server = try ServeProcess(folder: servedFolder(hostExtra: "header-timeout-ms = 300"))
        let started = Date()
        // Headers never finished: the server must close the connection on its own (RawHTTP gives up after 10 s).
        let reply = try RawHTTP.send("GET /version HTTP/1.1\r\nHost: x\r\nX-Slow: ", port: server.port)
        let waited = Date().timeIntervalSince(started)
        #expect(reply.isEmpty, "\(reply)")
        #expect(waited >= 0.25 && waited < 5, "closed after \(waited) s")
        #expect(server.get("/version").body == "v1")
        #expect(server.stop() == 0)
    }

    @Test("a keep-alive connection is served twice within header-timeout-ms, then closed once it idles past it")
    func keepAliveTimeout() throws {
        let server = try ServeProcess(folder: servedFolder(hostExtra: "header-timeout-ms = 400"))
        let fd = try RawHTTP.connect(port: server.port)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        func exchange() -> String {
            let request = Array("GET /version HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
            _ = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            return count > 0 ? String(decoding: chunk[0..<count], as: UTF8.self) : ""
        }
        #expect(exchange().hasSuffix("v1"))
        usleep(250_000)  // under the timeout since the last response: still open
        #expect(exchange().hasSuffix("v1"))
        let started = Date()
        var byte: UInt8 = 0
        let closed = read(fd, &byte, 1)  // the server closes the idle connection
        #expect(closed == 0, "read returned \(closed)")
        let waited = Date().timeIntervalSince(started)
        #expect(waited >= 0.3 && waited < 3, "closed after \(waited) s")
        #expect(server.stop() == 0)
    }

    @Test("a malformed manifest dropped in before SIGHUP is refused with line and column; the host keeps serving", arguments: [
        "[\n", "[[[1]]]\n", "[[=\n", "[plugin]\nname = \"x\u{0}\"\n",
    ])
    func malformedManifestAtReload(text: String) throws {
        let folder = servedFolder()
        let server = try ServeProcess(folder: folder)
        #expect(server.get("/version").body == "v1")
        folder.write("evil.toml", text)
        let began = ServeProcess.now()
        server.hangUp()
        let report = try #require(server.reload(startedAfter: began), "no reload report; log:\n\(server.log)")
        #expect(report["succeeded"] as? Bool == false)
        let problems = (report["problems"] as? [String]) ?? []
        #expect(problems.contains { $0.contains("evil.toml") && $0.contains("line ") && $0.contains("column ") }, "\(report)")
        #expect(server.get("/version").body == "v1")
        #expect(server.process.isRunning)
        #expect(server.stop() == 0)
    }
}

@Suite("Header bytes on a running plughost serve")
struct HeaderBytesTests {
    @Test("a NUL in a header value is refused with 400 before any plugin runs; bytes that are not UTF-8 arrive as U+FFFD, with their length")
    func headerBytes() throws {
        let folder = PluginFolder()
        folder.add("ep", library: "libhttp_fixture.so", symbol: "http_endpoints_entry")
        folder.write("host.toml", "[host]\nenabled = [\"ep\"]\n")
        let server = try ServeProcess(folder: folder)
        func spans(header value: [UInt8]) throws -> String {
            let request = Array("GET /r/spans/s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Echo: ".utf8) + value + Array("\r\n\r\n".utf8)
            return try RawHTTP.send(bytes: request, port: server.port)
        }
        let nul = try spans(header: Array("a".utf8) + [0] + Array("b".utf8))
        #expect(nul.hasPrefix("HTTP/1.1 400"), "\(nul)")
        let latin1 = try spans(header: Array("caf".utf8) + [0xE9])
        #expect(latin1.hasPrefix("HTTP/1.1 200") && latin1.hasSuffix("-|73|636166efbfbd"), "\(latin1)")
        #expect(server.get("/r/spans/ok").body == "-|6f6b|-")
        #expect(server.stop() == 0)
    }
}

@Suite("plughost pin, keygen and sign")
struct TrustCommandTests {
    @Test("pin prints a [pins] table that, written into the config, lets the current build serve and refuses another")
    func pinRoundTrip() throws {
        let folder = servedFolder()
        let printed = try Plughost.run(["pin", "--plugins", folder.path, "--config", folder.path + "/host.toml"])
        #expect(printed.status == 0, "\(printed.output)")
        let digest = try LibraryDigest(ofFileAt: folder.path + "/versioned/libversioned.so")
        #expect(printed.output.contains("[pins]\nversioned = \"\(digest)\""), "\(printed.output)")
        let written = try Plughost.run(["pin", "--write", "--plugins", folder.path, "--config", folder.path + "/host.toml"])
        #expect(written.status == 0, "\(written.output)")
        #expect(try HostConfig.load(path: folder.path + "/host.toml").pins["versioned"] == digest)
        #expect(try Plughost.run(["check", folder.path + "/versioned", "--config", folder.path + "/host.toml"]).status == 0)

        // Another build in place of the pinned one: check and list name both digests.
        let target = folder.path + "/versioned/libversioned.so"
        try FileManager.default.removeItem(atPath: target)
        try FileManager.default.copyItem(atPath: Fixtures.library("versioned/v2/libversioned.so"), toPath: target)
        let refused = try Plughost.run(["check", folder.path + "/versioned", "--config", folder.path + "/host.toml"])
        #expect(refused.status == 1)
        #expect(refused.output.contains("pin mismatch: expected \(digest)"), "\(refused.output)")
    }

    @Test("keygen, sign, and a host requiring signatures accepts the signed library and refuses it once changed")
    func keygenAndSign() throws {
        let folder = servedFolder()
        let keyFile = folder.path + ".key"
        defer { try? FileManager.default.removeItem(atPath: keyFile); try? FileManager.default.removeItem(atPath: keyFile + ".pub") }
        let made = try Plughost.run(["keygen", "--out", keyFile])
        #expect(made.status == 0, "\(made.output)")
        let attributes = try FileManager.default.attributesOfItem(atPath: keyFile)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let publicKey = try String(contentsOfFile: keyFile + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try Plughost.run(["keygen", "--out", keyFile]).status != 0, "keygen overwrote a key")

        let library = folder.path + "/versioned/libversioned.so"
        let signed = try Plughost.run(["sign", library, "--key", keyFile])
        #expect(signed.status == 0, "\(signed.output)")
        folder.write("host.toml", "[host]\nenabled = [\"versioned\"]\ntrusted-keys = [\"\(publicKey)\"]\nrequire-signatures = true\n")
        let accepted = try Plughost.run(["check", folder.path + "/versioned", "--config", folder.path + "/host.toml"])
        #expect(accepted.status == 0, "\(accepted.output)")

        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: library))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0]))
        try handle.close()
        let tampered = try Plughost.run(["check", folder.path + "/versioned", "--config", folder.path + "/host.toml"])
        #expect(tampered.status == 1)
        #expect(tampered.output.contains("signature refused: the signature does not match"), "\(tampered.output)")
    }

    @Test("plugin.mk signs what it builds when PLUGHOST_SIGNING_KEY is set; a host requiring signatures loads it")
    func pluginMakefileSigns() throws {
        let folder = PluginFolder()
        let keyFile = folder.path + "/signing.key"
        #expect(try Plughost.run(["keygen", "--out", keyFile]).status == 0)
        let publicKey = try String(contentsOfFile: keyFile + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let plugin = folder.path + "/noop"
        try FileManager.default.createDirectory(atPath: plugin, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Fixtures.repositoryRoot + "/Tests/Fixtures/noop.c", toPath: plugin + "/noop.c")
        folder.write("noop/Makefile", "include \(Fixtures.repositoryRoot)/PluginSDK/plugin.mk\nlibnoop.so: noop.c $(PH_SDK_HEADER)\n\t$(PH_BUILD_C_PLUGIN)\n")
        folder.manifest("noop/noop.toml", [("noop", "libnoop.so:noop_entry")])
        let make = Process()
        make.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        make.arguments = ["make", "-s", "-C", plugin, "PLUGHOST=\(Plughost.path)", "PLUGHOST_SIGNING_KEY=\(keyFile)"]
        try make.run()
        make.waitUntilExit()
        #expect(make.terminationStatus == 0)
        #expect(FileManager.default.fileExists(atPath: plugin + "/libnoop.so.sig"))
        #expect(!FileManager.default.fileExists(atPath: plugin + "/libnoop.so.tmp.sig"))
        folder.write("host.toml", "[host]\ntrusted-keys = [\"\(publicKey)\"]\nrequire-signatures = true\n")
        let checked = try Plughost.run(["check", plugin, "--config", folder.path + "/host.toml"])
        #expect(checked.status == 0, "\(checked.output)")
    }

    @Test("with file copies asked for, check, list and serve leave no shadow folder behind in TMPDIR")
    func noShadowFolderLeft() throws {
        let folder = servedFolder()
        let temporary = PluginFolder()
        let environment = ["TMPDIR": temporary.path, "XDG_RUNTIME_DIR": "", "PLUGHOST_SHADOW_COPIES": "files"]
        #expect(try Plughost.run(["check", folder.path + "/versioned"], environment: environment).status == 0)
        #expect(try Plughost.run(["list", "--plugins", folder.path, "--config", folder.path + "/host.toml"], environment: environment).status == 0)
        let server = try ServeProcess(folder: folder, environment: environment)
        #expect(server.get("/version").body == "v1")
        #expect(try FileManager.default.contentsOfDirectory(atPath: temporary.path).contains { $0.hasPrefix("plughost-shadow-") },
                "serve made no shadow folder in TMPDIR: the test would prove nothing")
        #expect(server.stop() == 0)
        let left = try FileManager.default.contentsOfDirectory(atPath: temporary.path).filter { $0.hasPrefix("plughost-shadow-") }
        #expect(left.isEmpty, "left behind: \(left)")
    }
}
