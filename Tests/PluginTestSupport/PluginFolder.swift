import Foundation
public import PluginRuntime

/// A temporary plugins folder a test fills with manifests and copies of fixture libraries.
public final class PluginFolder {
    /// The folder.
    public let path: String
    /// The log file the recorder fixtures append to.
    public let log: String

    public init() {
        let template = NSTemporaryDirectory() + "plughost-test-XXXXXX"
        var bytes = Array(template.utf8CString)
        let made = bytes.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = bytes.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        log = path + ".log"
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.removeItem(atPath: log)
    }

    /// Copies fixture library `name` into the folder (once) and returns its file name.
    @discardableResult
    public func copyFixture(_ name: String, as target: String? = nil) -> String {
        let destination = path + "/" + (target ?? name)
        if !FileManager.default.fileExists(atPath: destination) {
            try! FileManager.default.copyItem(atPath: Fixtures.library(name), toPath: destination)
        }
        return target ?? name
    }

    /// Writes a manifest declaring `aliases` (alias → "LIBRARY:SYMBOL").
    public func manifest(_ file: String, name: String = "pkg", version: String = "1.0.0",
                  namespace: String = HostConfig.defaultNamespace, _ aliases: [(String, String)]) {
        var text = "[plugin]\nname = \"\(name)\"\nversion = \"\(version)\"\n\n[entry-points.\"\(namespace)\"]\n"
        for (alias, target) in aliases { text += "\(alias) = \"\(target)\"\n" }
        write(file, text)
    }

    /// Adds alias `alias` for `symbol` in fixture library `library` (its own manifest `<alias>.toml`).
    public func add(_ alias: String, library: String, symbol: String) {
        copyFixture(library)
        manifest("\(alias).toml", [(alias, "\(library):\(symbol)")])
    }

    /// Adds a recorder plugin under `alias` (its own manifest `<alias>.toml`).
    public func addRecorder(_ alias: String, symbol: String = "recorder_entry") {
        copyFixture("librecorder.so")
        manifest("\(alias).toml", [(alias, "librecorder.so:\(symbol)")])
    }

    /// Writes `contents` to `file` inside the folder.
    public func write(_ file: String, _ contents: String) {
        let full = path + "/" + file
        try! FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try! contents.write(toFile: full, atomically: true, encoding: .utf8)
    }

    /// A host config enabling `aliases` in order, each with `log` set and `extra` config merged in.
    public func config(_ aliases: [String], extra: [String: [String: ConfigValue]] = [:]) -> HostConfig {
        var tables: [String: [String: ConfigValue]] = [:]
        for alias in aliases {
            tables[alias] = ["log": .string(log)].merging(extra[alias] ?? [:]) { $1 }
        }
        return HostConfig(enabled: aliases, pluginConfigs: tables)
    }

    /// The lines recorded so far.
    public func events() -> [String] {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Starts a runtime over this folder.
    public func start(_ config: HostConfig) throws -> PluginRuntime {
        let runtime = PluginRuntime(pluginsDirectory: path, config: config)
        try runtime.start()
        return runtime
    }
}

extension [PluginStatus] {
    /// The status of `alias`.
    public func of(_ alias: String) -> PluginStatus? { first { $0.alias == alias } }
}
