import Foundation
import PluginTestSupport
import Testing

/// The admin page rendered in a real headless browser (Chromium from Debian's
/// packages; `.ci/run` installs it): every plugin, endpoint and wrapper the
/// host lists appears on it. A screenshot is kept under `.build/` for review.
@Suite(.serialized)
struct AdminPageBrowserTests {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs headless Chromium on `url` with `arguments` and returns what it printed on standard output.
    private static func chromium(_ arguments: [String], url: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["60", chromium!, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                             "--virtual-time-budget=5000", "--user-data-dir=" + NSTemporaryDirectory() + "plughost-chromium-\(getpid())"]
            + arguments + [url]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return output
    }

    @Test("the admin page shows every plugin, endpoint and wrapper of the example host",
          .enabled(if: chromium != nil, "Chromium is not installed (apt-get install chromium; .ci/run does)"))
    func rendersExamples() throws {
        let folder = PluginFolder()
        let serve = try ServeProcess(folder: folder, extraArguments: ["--plugins", Fixtures.examples,
                                                                      "--config", Fixtures.repositoryRoot + "/plughost.toml", "--workers", "0"])
        OperationsTests.waitUntilReady(serve)
        let listing = serve.get("/_plughost/plugins")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(listing.body.utf8)) as? [String: Any])
        let plugins = try #require(json["plugins"] as? [[String: Any]])
        let page = serve.get("/_plughost/")
        #expect(page.status == 200)

        let url = "http://127.0.0.1:\(serve.port)/_plughost/"
        let dom = try Self.chromium(["--dump-dom"], url: url)
        #expect(dom.contains(#"data-status="ok""#), "the page did not load its data:\n\(dom.prefix(2000))")
        var endpointCount = 0
        for plugin in plugins {
            guard let alias = plugin["alias"] as? String else { continue }
            #expect(dom.contains(#"data-plugin="\#(alias)""#), "plugin \(alias) missing")
            for endpoint in plugin["endpoints"] as? [[String: Any]] ?? [] {
                let key = "\(endpoint["method"] as! String) \(endpoint["path"] as! String)"
                #expect(dom.contains(#"data-endpoint="\#(key)""#), "endpoint \(key) missing")
                endpointCount += 1
                let chain = (endpoint["wrappers"] as? [String] ?? []).joined(separator: " ")
                #expect(dom.contains(#"data-chain="\#(chain)""#), "wrapper chain '\(chain)' of \(key) missing")
                for wrapper in endpoint["wrappers"] as? [String] ?? [] {
                    #expect(dom.contains(#"data-wrapper="\#(wrapper)""#), "wrapper \(wrapper) missing")
                }
            }
        }
        #expect(endpointCount >= 9)
        #expect(dom.contains(#"data-wrapper="timing/timing""#) && dom.contains(#"data-wrapper="auth/bearer-auth""#))

        let screenshot = Fixtures.repositoryRoot + "/.build/admin-page.png"
        try? FileManager.default.removeItem(atPath: screenshot)
        _ = try Self.chromium(["--window-size=1280,900", "--screenshot=" + screenshot], url: url)
        #expect(FileManager.default.fileExists(atPath: screenshot))
        #expect(serve.stop() == 0)
    }

    @Test("the admin page shows where each plugin runs, and with two workers both plugin processes of an isolated one",
          .enabled(if: chromium != nil, "Chromium is not installed (apt-get install chromium; .ci/run does)"))
    func rendersIsolation() throws {
        let folder = PluginFolder()
        folder.copyFixture("isolated/a/libisolated.so", as: "libisolated.so")
        folder.manifest("iso.toml", [("iso", "libisolated.so:isolated_entry")])
        folder.add("noop", library: "libnoop.so", symbol: "noop_entry")
        folder.write("host.toml", "[host]\nenabled = [\"iso\", \"noop\"]\n\n[isolation.iso]\nmode = \"process\"\n")
        let serve = try ServeProcess(folder: folder, extraArguments: ["--workers", "2"])
        ServeHelpers.waitForWorkers(serve, 2)
        OperationsTests.waitUntilReady(serve)
        var pids: Set<String> = []
        ServeHelpers.wait(20) {
            let json = try? JSONSerialization.jsonObject(with: Data(serve.get("/_plughost/plugins").body.utf8)) as? [String: Any]
            let iso = (json?["plugins"] as? [[String: Any]])?.first { $0["alias"] as? String == "iso" }
            let byWorker = iso?["worker_isolation"] as? [String: [String: Any]] ?? [:]
            pids = Set(byWorker.values.compactMap { ($0["pid"] as? NSNumber)?.stringValue })
            return pids.count == 2
        }
        #expect(pids.count == 2)

        let dom = try Self.chromium(["--dump-dom"], url: "http://127.0.0.1:\(serve.port)/_plughost/")
        #expect(dom.contains(#"data-status="ok""#), "the page did not load its data:\n\(dom.prefix(2000))")
        #expect(dom.contains(#"data-isolation-mode="process""#) && dom.contains(#"data-isolation-mode="in-process""#), "\(dom.prefix(4000))")
        for pid in pids {
            #expect(dom.contains(#"data-plugin-process="\#(pid)""#), "plugin process \(pid) missing")
        }
        #expect(dom.components(separatedBy: "data-plugin-process=").count == 3, "one line per worker's plugin process")
        #expect(dom.contains(" MiB") && dom.contains("0 restarts"))
        #expect(serve.stop() == 0 || ServeHelpers.sanitized)
    }
}
