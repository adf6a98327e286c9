/// The host's own config file: which namespaces and aliases load, in which
/// order, and each plugin's config table.
///
/// ```toml
/// [host]
/// namespaces = ["plughost.plugins"]   # default
/// enabled = ["auth", "audit"]         # order is priority; absent: every alias, by name
/// cache-entries = 1024                # per plugin
/// drain-timeout-ms = 10000            # how long a reload waits for the old generation's requests
///
/// [plugin.audit]                      # handed to audit's parse_config
/// level = "info"
/// ```
public struct HostConfig: Sendable {
    /// The namespace loaded when the config names none.
    public static let defaultNamespace = "plughost.plugins"

    /// The file this was read from, or nil for the built-in default.
    public var path: String?
    /// Namespaces whose aliases load.
    public var namespaces: [String]
    /// Aliases to load, in priority order; nil loads every alias found, sorted by name.
    public var enabled: [String]?
    /// Each alias's config table.
    public var pluginConfigs: [String: [String: ConfigValue]]
    /// Maximum cache entries one plugin may hold.
    public var cacheEntriesPerPlugin: Int
    /// How long a reload (or shutdown) waits for requests still running on the
    /// old generation before stopping its plugins anyway (their images then stay mapped).
    public var drainTimeout: Duration = .seconds(10)

    /// Creates a config in code (for embedding).
    public init(
        namespaces: [String] = [HostConfig.defaultNamespace],
        enabled: [String]? = nil,
        pluginConfigs: [String: [String: ConfigValue]] = [:],
        cacheEntriesPerPlugin: Int = 1024
    ) {
        self.path = nil
        self.namespaces = namespaces
        self.enabled = enabled
        self.pluginConfigs = pluginConfigs
        self.cacheEntriesPerPlugin = cacheEntriesPerPlugin
    }

    /// Reads the host config at `path`.
    /// - Throws: ``PluginError`` (``PluginError/Code/invalidHostConfig``) naming the key at fault.
    public static func load(path: String) throws(PluginError) -> HostConfig {
        let document = try TOMLDocument.load(path: path, failingWith: .invalidHostConfig)
        var config = try parse(document, path: path)
        config.path = path
        return config
    }

    static func parse(_ document: [String: ConfigValue], path: String) throws(PluginError) -> HostConfig {
        func fail(_ reason: String, alias: String? = nil) -> PluginError {
            PluginError(.invalidHostConfig, file: path, alias: alias, reason: reason)
        }
        for key in document.keys where key != "host" && key != "plugin" {
            throw fail("unknown top-level key '\(key)' (expected [host] and [plugin.ALIAS])")
        }
        var config = HostConfig()
        if let host = document["host"] {
            guard let table = host.table else { throw fail("'host' must be a table") }
            for (key, value) in table.sorted(by: { $0.key < $1.key }) {
                switch key {
                case "namespaces":
                    config.namespaces = try stringList(value, key: "host.namespaces", fail: fail)
                    if config.namespaces.isEmpty { throw fail("host.namespaces must name at least one namespace") }
                case "enabled":
                    let aliases = try stringList(value, key: "host.enabled", fail: fail)
                    var seen = Set<String>()
                    for alias in aliases where !seen.insert(alias).inserted {
                        throw fail("host.enabled lists '\(alias)' twice", alias: alias)
                    }
                    config.enabled = aliases
                case "cache-entries":
                    guard case .integer(let count) = value, count >= 0 else {
                        throw fail("host.cache-entries must be a non-negative integer, found \(value.json)")
                    }
                    config.cacheEntriesPerPlugin = Int(count)
                case "drain-timeout-ms":
                    guard case .integer(let milliseconds) = value, milliseconds > 0 else {
                        throw fail("host.drain-timeout-ms must be a positive integer, found \(value.json)")
                    }
                    config.drainTimeout = .milliseconds(milliseconds)
                default:
                    throw fail("unknown key 'host.\(key)' (known: namespaces, enabled, cache-entries, drain-timeout-ms)")
                }
            }
        }
        if let plugins = document["plugin"] {
            guard let table = plugins.table else { throw fail("'plugin' must hold one table per alias") }
            for (alias, value) in table {
                guard let pluginTable = value.table else {
                    throw fail("[plugin.\(alias)] must be a table, found a \(value.typeName)", alias: alias)
                }
                config.pluginConfigs[alias] = pluginTable
            }
        }
        return config
    }

    private static func stringList(
        _ value: ConfigValue, key: String, fail: (String, String?) -> PluginError
    ) throws(PluginError) -> [String] {
        guard let elements = value.array else { throw fail("\(key) must be an array of strings", nil) }
        var strings: [String] = []
        for element in elements {
            guard let text = element.string else {
                throw fail("\(key) must be an array of strings, found a \(element.typeName)", nil)
            }
            strings.append(text)
        }
        return strings
    }
}
