import Foundation
import Logging
import PluginRuntime
import PluginTestSupport
import Testing

@Suite("Service lookups across reloads")
struct ServiceDependencyTests {
    @Test("a plugin that found no provider for a service is re-created when a reload brings one")
    func providerAppears() throws {
        let folder = PluginFolder()
        folder.addRecorder("user")
        folder.addRecorder("prov")
        let log = folder.log
        func write(_ enabled: [String]) {
            folder.write("host.toml", """
                [host]
                enabled = [\(enabled.map { "\"\($0)\"" }.joined(separator: ", "))]
                [plugin.user]
                log = "\(log)"
                lookup = "x.svc/1"
                [plugin.prov]
                log = "\(log)"
                provide = "x.svc/1"
                [plugin.other]
                log = "\(log)"
                """)
        }
        write(["user"])
        let runtime = PluginRuntime(pluginsDirectory: folder.path, config: try HostConfig.load(path: folder.path + "/host.toml"),
                                    logger: Logger(label: "quiet", factory: { _ in SwiftLogNoOpLogHandler() }))
        try runtime.start()
        defer { runtime.shutdown() }
        #expect(folder.events().contains("user service none"))

        write(["user", "prov"])
        let report = runtime.reload()
        #expect(report.succeeded, "\(report)")
        #expect(report.added == ["prov"] && report.recreated == ["user"] && report.unchanged.isEmpty, "\(report)")
        #expect(folder.events().contains("user service prov"), "\(folder.events())")

        // Once it found its provider, an unrelated change leaves it alone.
        folder.addRecorder("other")
        write(["user", "prov", "other"])
        let quiet = runtime.reload()
        #expect(quiet.succeeded && quiet.recreated.isEmpty && Set(quiet.unchanged) == ["user", "prov"], "\(quiet)")
    }
}
