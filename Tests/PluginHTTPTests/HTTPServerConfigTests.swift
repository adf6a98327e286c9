import Foundation
import PluginHTTPExtension
import PluginRuntime
import Testing

@Suite("The HTTP server's [host] keys are declared and read by the HTTP layer")
struct HTTPServerConfigTests {
    /// Loads `text` as a host config file (permissions unchecked: a test's temporary file).
    private func load(_ text: String) throws -> HostConfig {
        let path = NSTemporaryDirectory() + "plughost-http-config-\(UInt64.random(in: 0...UInt64.max)).toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try HostConfig.load(path: path, checkingPermissions: false)
    }

    @Test("declared keys load into the layer's settings, typed, with defaults for the rest")
    func readsDeclaredKeys() throws {
        HTTPServerConfig.declare()
        let config = try load("""
            [host]
            plugin-threads = 8
            header-timeout-ms = 2500
            admin = "token"
            admin-token = "t0k"
            metrics = false
            [request-timeouts]
            "GET /slow" = 50
            """)
        let http = HTTPServerConfig(config)
        #expect(http.pluginThreads == 8)
        #expect(http.headerTimeout == .milliseconds(2500))
        #expect(http.admin == .token && http.adminToken == "t0k")
        #expect(http.metrics == false)
        #expect(http.pluginQueue == 256 && http.requestTimeout == .seconds(30), "defaults for keys not set")
        #expect(http.endpointTimeouts["GET /slow"] == .milliseconds(50))
    }

    @Test("a bad value of a declared key, and a broken rule across the layer's keys, are errors naming the key", arguments: [
        ("plugin-threads = 0", "host.plugin-threads must be an integer from 1 to 4096, found 0"),
        ("admin = \"everyone\"", "host.admin must be \"loopback\", \"token\", \"off\""),
        ("metrics = 1", "host.metrics must be true or false"),
        ("admin = \"token\"", "host.admin = \"token\" needs a non-empty host.admin-token"),
        ("no-such-key = 1", "unknown key 'host.no-such-key'"),
    ])
    func refusesBadValues(line: String, reason: String) throws {
        HTTPServerConfig.declare()
        do {
            _ = try load("[host]\n\(line)\n")
            Issue.record("'\(line)' was accepted")
        } catch let error as PluginError {
            #expect(error.description.contains(reason), "\(error)")
            if line.hasPrefix("no-such-key") {
                #expect(error.description.contains("header-timeout-ms"), "the unknown-key error lists the declared keys too: \(error)")
            }
        }
    }
}
