import Foundation
import PluginTestSupport
import Testing

/// Whether `cargo` is on PATH: plugins/Makefile builds the Rust example only then.
private let cargoOnPath: Bool = (ProcessInfo.processInfo.environment["PATH"] ?? "")
    .split(separator: ":")
    .contains { FileManager.default.isExecutableFile(atPath: "\($0)/cargo") }

/// The Rust example's folder in plugins/, once `make -C plugins` (run by `Fixtures.examples`)
/// built its library; nil without cargo or when it is absent.
private let rustExample: String? = {
    guard cargoOnPath else { return nil }
    let folder = Fixtures.examples + "/hello-rust"
    return FileManager.default.fileExists(atPath: folder + "/libhello_rust.so") ? folder : nil
}()

@Suite("The Rust example plugin (plugins/hello-rust)",
       .enabled(if: rustExample != nil, "cargo is not on PATH, or make -C plugins did not build plugins/hello-rust"))
struct RustExampleTests {
    @Test("check accepts it: its alias, version and ABI, from its manifest in the examples folder")
    func check() throws {
        let folder = try #require(rustExample)
        let result = try Plughost.run(["check", folder + "/hello-rust.toml"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("alias 'hello-rust'") && result.output.contains("(ABI 1.3)"), "\(result.output)")
    }

    @Test("its parse_config refuses a greeting that is not a string, naming the key")
    func badConfig() throws {
        let folder = try #require(rustExample)
        let config = PluginFolder()
        config.write("host.toml", "[plugin.hello-rust]\ngreeting = 42\n")
        let result = try Plughost.run(["check", folder + "/hello-rust.toml", "--config", config.path + "/host.toml"])
        #expect(result.status == 1, "\(result.output)")
        #expect(result.output.contains("FAIL") && result.output.contains("key 'greeting' must be a string"), "\(result.output)")
    }

    @Test("serve over the examples folder with only hello-rust enabled: GET /hello-rust/hello answers JSON, and the request-received subscriber counts")
    func serve() throws {
        let folder = PluginFolder()
        folder.write("host.toml", """
            [host]
            namespaces = ["plughost.plugins"]
            enabled = ["hello-rust"]

            [plugin.hello-rust]
            greeting = "Ahoy"

            """)
        // ServeProcess serves `folder`; a later --plugins wins (ArgumentParser keeps the last
        // value of a repeated option), so this serves plugins/ itself, with `folder`'s host.toml
        // and pid file. --strict: any refused file in plugins/ (a stray manifest) fails the start.
        let server = try ServeProcess(folder: folder, extraArguments: ["--plugins", Fixtures.examples, "--workers", "0", "--strict"])

        // The server listens before the plugins start; a request waits until they run.
        let first = server.get("/hello-rust/hello")
        #expect(first.status == 200, "\(first.body)\n\(server.log)")
        // create logged through host->log, tagged with the alias.
        #expect(server.log.contains("plugin=hello-rust") && server.log.contains("greeting is 'Ahoy'"), "\(server.log)")
        // Labelled with the plugin, not with the host module that wrote the line.
        #expect(server.log.contains("[hello-rust] greeting is 'Ahoy'") && !server.log.contains("[PluginRuntime] greeting"), "\(server.log)")
        let one = try #require(try JSONSerialization.jsonObject(with: Data(first.body.utf8)) as? [String: Any], "\(first.body)")
        #expect(one["plugin"] as? String == "hello-rust")
        #expect(one["message"] as? String == "Ahoy from hello-rust!")
        #expect(one["hellos"] as? Int == 1, "\(first.body)")
        // The host publishes request-received before it runs the endpoint: this request counts already.
        let seenFirst = try #require(one["requests_seen"] as? Int, "\(first.body)")
        #expect(seenFirst >= 1, "\(first.body)")

        let reply = try RawHTTP.send("GET /hello-rust/hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", port: server.port)
        #expect(reply.hasPrefix("HTTP/1.1 200"), "\(reply)")
        #expect(reply.lowercased().contains("content-type: application/json"), "\(reply)")
        let secondBody = reply.range(of: "\r\n\r\n").map { String(reply[$0.upperBound...]) } ?? ""
        let two = try #require(try JSONSerialization.jsonObject(with: Data(secondBody.utf8)) as? [String: Any], "\(reply)")
        #expect(two["message"] as? String == "Ahoy from hello-rust!")
        #expect(two["hellos"] as? Int == 2, "\(secondBody)")
        let seenSecond = try #require(two["requests_seen"] as? Int, "\(secondBody)")
        #expect(seenSecond > seenFirst, "the request-received subscriber did not count: \(seenFirst) then \(seenSecond)")

        // JSON in and out through abi.rs: a body checked against the schema, an object built with JsonWriter.
        func post(_ body: String) -> (status: Int?, body: String) {
            server.send("POST /hello-rust/echo-length HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
        }
        let echoed = post(#"{"text":"héllo \"x\""}"#)
        #expect(echoed.status == 200, "\(echoed)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(echoed.body.utf8)) as? [String: Any], "\(echoed)")
        #expect(object["text"] as? String == "héllo \"x\"" && object["length"] as? Int == 9, "\(echoed)")
        let refused = post(#"{"text":5}"#)
        #expect(refused.status == 400 && refused.body.contains("/text"), "\(refused)")

        #expect(server.stop() == 0, "\(server.log)")
    }
}
