import Foundation
import Logging
import PluginRuntime
import PluginHTTPExtension

/// A temporary plugins folder of copies of the noop fixture.
final class BenchFolder {
    let path: String
    private let fixtures: String

    init(fixtures: String) throws {
        self.fixtures = fixtures
        path = NSTemporaryDirectory() + "plughost-bench-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Adds alias `alias` for `symbol` in a copy of fixture `library` (copied once).
    func add(alias: String, library: String, symbol: String) throws {
        try add(alias: alias, libraryAt: fixtures + "/" + library, symbol: symbol)
    }

    /// Adds alias `alias` backed by a copy of the library at `source` (any folder), under its file name.
    func add(alias: String, libraryAt source: String, symbol: String) throws {
        let name = (source as NSString).lastPathComponent
        let target = path + "/" + name
        if !FileManager.default.fileExists(atPath: target) {
            try FileManager.default.copyItem(atPath: source, toPath: target)
        }
        let manifest = "[plugin]\nname = \"\(alias)\"\nversion = \"1.0.0\"\n[entry-points.\"plughost.plugins\"]\n\(alias) = \"\(name):\(symbol)\"\n"
        try manifest.write(toFile: path + "/\(alias).toml", atomically: true, encoding: .utf8)
    }

    /// A runtime serving the endpoints fixture behind `wrappers` pass-through wrappers.
    func endpointsRuntime(wrappers: Int, logger: Logger) throws -> PluginRuntime {
        try add(alias: "ep", library: "libhttp_fixture.so", symbol: "http_endpoints_entry")
        var tables: [String: [String: ConfigValue]] = [:]
        var enabled: [String] = []
        for index in 0..<wrappers {
            try add(alias: "w\(index)", library: "libhttp_fixture.so", symbol: "http_wrapper_entry")
            tables["w\(index)"] = ["mode": .string("pass")]
            enabled.append("w\(index)")
        }
        let runtime = PluginRuntime(pluginsDirectory: path, config: HostConfig(enabled: enabled + ["ep"], pluginConfigs: tables),
                                    servesHTTP: true, logger: logger)
        try runtime.start()
        return runtime
    }

    /// Adds alias `alias` backed by a copy of libnoop.so named `library` (copied once).
    func addNoop(alias: String, library: String) throws {
        let target = path + "/" + library
        if !FileManager.default.fileExists(atPath: target) {
            try FileManager.default.copyItem(atPath: fixtures + "/libnoop.so", toPath: target)
        }
        let manifest = "[plugin]\nname = \"\(alias)\"\nversion = \"1.0.0\"\n[entry-points.\"plughost.plugins\"]\n\(alias) = \"\(library):noop_entry\"\n"
        try manifest.write(toFile: path + "/\(alias).toml", atomically: true, encoding: .utf8)
    }
}
