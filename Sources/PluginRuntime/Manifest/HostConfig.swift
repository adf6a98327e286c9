/// The host's own config file: which namespaces and aliases load, in which
/// order, each plugin's config table, and what the host trusts.
///
/// ```toml
/// [host]
/// namespaces = ["plughost.plugins"]   # default
/// enabled = ["auth", "audit"]         # order is priority; absent: every alias, by name
/// cache-entries = 1024                # per plugin
/// drain-timeout-ms = 10000            # how long a reload waits for the old generation's requests
/// strict-permissions = true           # refuse files others could have written (default)
/// trusted-keys = ["ed25519:…"]        # keys whose library signatures are accepted
/// require-signatures = false          # refuse unsigned libraries
/// admin = "loopback"                  # declared by the HTTP layer (HTTPServerConfig), kept in layerSettings
/// max-retained-images = 64            # replace a worker past this many retained Swift images
/// state-dir = "/var/lib/plughost"     # private working files (shadow copies)
///
/// [pins]                              # alias = SHA-256 of the exact library bytes loaded
/// audit = "sha256:…"
///
/// [plugin.audit]                      # handed to audit's parse_config
/// level = "info"
///
/// [isolation.audit]                   # run audit in a sandboxed process of its own
/// mode = "process"
/// ```
///
/// Every key is described in docs/CONFIG.md.
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
    /// Whether the file was checked before it was read (and will be again on reload).
    public var checksOwnPermissions = true
    /// Refuse plugins folders, manifests, libraries, the host config and the
    /// shadow folder when someone other than root or this user could have
    /// written them (OpenSSH's StrictModes). Off only for development.
    public var strictPermissions = true
    /// Pinned SHA-256 digests of libraries, by alias: a library whose loaded
    /// bytes hash differently is refused.
    public var pins: [String: LibraryDigest] = [:]
    /// Refuse every enabled alias that has no pin.
    public var requirePins = false
    /// Public keys whose library signatures (`LIBRARY.sig`) are accepted.
    public var trustedKeys: [SigningKey.Public] = []
    /// Refuse libraries without a valid signature by one of ``trustedKeys``.
    public var requireSignatures = false
    /// A worker of `plughost serve` that keeps more Swift images mapped than this
    /// (one per reload of a Swift plugin, never unloaded) is replaced gracefully,
    /// which returns their memory.
    public var maxRetainedImages = 64
    /// Crashes (and hangs) of one plugin build within ``crashWindowSeconds`` that quarantine it.
    public var crashLimit = 3
    /// The window, in seconds, within which ``crashLimit`` crashes quarantine a plugin build.
    public var crashWindowSeconds = 60
    /// Per-endpoint request timeouts (`[request-timeouts]`), by "METHOD /pattern" as the endpoint registered it.
    public var endpointTimeouts: [String: Duration] = [:]
    /// The values of the `[host]` keys layers above the runtime declared (``declare(layer:keys:check:)``), by name:
    /// checked, not interpreted here.
    public var layerSettings: [String: HostSetting] = [:]
    /// A lifecycle call (`parse_config`, `create`, `start`, `stop`, `destroy`,
    /// `save_state`, `restore_state`, and a wrapper's `accepts`/`prepare`/`release`)
    /// running longer than this is a hang: the supervisor journals it against the
    /// plugin, aborts the reload round it holds up and replaces the worker.
    public var lifecycleTimeout: Duration = .seconds(10)
    /// A serving worker that has not answered the supervisor's health check through
    /// its event loop for this long (a plugin took its descriptors, say) is replaced.
    public var workerStall: Duration = .seconds(3)
    /// A worker that dies this many times in a row before it ever served, for reasons
    /// not charged to a plugin, makes the supervisor stop the host (a restart cannot help).
    public var startAttempts = 5
    /// The most bytes (keys and values) one plugin may keep in the host cache.
    public var cacheBytesPerPlugin = 4 << 20
    /// The shared cache's whole size in bytes (one store for every worker).
    public var cacheBytes = 64 << 20
    /// The bytes ``load(path:checkingPermissions:)`` read (what a committed generation was configured by).
    var sourceBytes: [UInt8]?
    /// Where the host keeps private working files such as shadow copies; nil
    /// uses `$XDG_RUNTIME_DIR/plughost`, else a private folder in `$TMPDIR` or `/tmp`.
    public var stateDirectory: String?
    /// Each alias's `[isolation.ALIAS]` table, read; an alias without one runs in the host's process.
    public var isolation: [String: IsolationSettings] = [:]

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

    /// How `alias` is isolated: its `[isolation.ALIAS]` table, else ``IsolationSettings/inProcess``.
    public func isolation(of alias: String) -> IsolationSettings {
        isolation[alias] ?? .inProcess
    }

    /// Reads the host config at `path`.
    ///
    /// The file's ownership and mode (and those of every folder above it) are
    /// checked before a byte of it is read, whatever it says: a config anyone
    /// else could write could otherwise switch the checks off itself
    /// (`strict-permissions = false`) or drop its pins.
    /// - Parameter checkingPermissions: False only for development (`plughost --unsafe-permissions`):
    ///   the file is read without the check, and ``strictPermissions`` is off whatever the file says.
    /// - Throws: ``PluginError`` (``PluginError/Code/invalidHostConfig``) naming the key at fault,
    ///   or ``PluginError/Code/unsafePermissions``.
    public static func load(path: String, checkingPermissions: Bool = true) throws(PluginError) -> HostConfig {
        if checkingPermissions && FileSystem.kind(of: path) != .missing {
            do {
                try FilePermissions.check(path)
            } catch {
                throw PluginError(.unsafePermissions, file: path,
                                  reason: "host config refused: \(error.description) (plughost --unsafe-permissions skips this check while developing)")
            }
        }
        let (document, bytes) = try TOMLDocument.read(path: path, failingWith: .invalidHostConfig)
        var config = try parse(document, path: path)
        config.path = path
        config.sourceBytes = bytes
        config.checksOwnPermissions = checkingPermissions
        if !checkingPermissions { config.strictPermissions = false }
        return config
    }

    static func parse(_ document: [String: ConfigValue], path: String) throws(PluginError) -> HostConfig {
        func fail(_ reason: String, alias: String? = nil) -> PluginError {
            PluginError(.invalidHostConfig, file: path, alias: alias, reason: reason)
        }
        for key in document.keys.sorted() where !["host", "plugin", "pins", "request-timeouts", "isolation"].contains(key) {
            throw fail("unknown top-level key '\(key)' (expected [host], [pins], [request-timeouts], [plugin.ALIAS] and [isolation.ALIAS])")
        }
        var config = HostConfig()
        if let host = document["host"] {
            guard let table = host.table else { throw fail("'host' must be a table") }
            for (key, value) in table.sorted(by: { $0.key < $1.key }) {
                try config.setHostKey(key, value, fail: fail)
            }
            for check in HostKeyRegistry.checks {
                if let reason = check(config.layerSettings) { throw fail(reason) }
            }
            if config.requireSignatures && config.trustedKeys.isEmpty {
                throw fail("host.require-signatures = true needs at least one key in host.trusted-keys")
            }
        }
        if let pins = document["pins"] {
            guard let table = pins.table else { throw fail("'pins' must be a table of alias = \"sha256:HEX\"") }
            for (alias, value) in table.sorted(by: { $0.key < $1.key }) {
                guard let text = value.string, let digest = LibraryDigest(parsing: text) else {
                    throw fail("pins.\(alias) must be \"sha256:\" followed by 64 hex digits, found \(value.json)", alias: alias)
                }
                config.pins[alias] = digest
            }
        }
        if let timeouts = document["request-timeouts"] {
            guard let table = timeouts.table else { throw fail("'request-timeouts' must be a table of \"METHOD /path\" = milliseconds") }
            for (endpoint, value) in table.sorted(by: { $0.key < $1.key }) {
                let parts = endpoint.split(separator: " ", maxSplits: 1)
                guard parts.count == 2, parts[1].hasPrefix("/") else {
                    throw fail("request-timeouts: key \(ConfigValue.jsonQuoted(endpoint)) must be \"METHOD /path\" as the endpoint is registered")
                }
                guard case .integer(let count) = value, count > 0 else {
                    throw fail("request-timeouts.\(ConfigValue.jsonQuoted(endpoint)) must be a positive number of milliseconds, found \(value.json)")
                }
                config.endpointTimeouts[endpoint] = .milliseconds(count)
            }
        }
        if let plugins = document["plugin"] {
            guard let table = plugins.table else { throw fail("'plugin' must hold one table per alias") }
            for (alias, value) in table {
                guard let pluginTable = value.table else {
                    throw fail("[plugin.\(alias)] must be a table, found a \(value.typeName)", alias: alias)
                }
                if let key = firstKeyWithNUL(in: pluginTable) {
                    throw fail("[plugin.\(alias)] has a key with a NUL character (\(ConfigValue.jsonQuoted(key))): plugins read keys as C strings", alias: alias)
                }
                config.pluginConfigs[alias] = pluginTable
            }
        }
        if let isolation = document["isolation"] {
            guard let table = isolation.table else { throw fail("'isolation' must hold one table per alias") }
            for (alias, value) in table.sorted(by: { $0.key < $1.key }) {
                guard let settings = value.table else {
                    throw fail("[isolation.\(alias)] must be a table, found a \(value.typeName)", alias: alias)
                }
                config.isolation[alias] = try IsolationSettings.parse(settings, alias: alias, fail: fail)
            }
        }
        return config
    }

    /// The first key, at any depth, that holds a NUL character.
    private static func firstKeyWithNUL(in table: [String: ConfigValue]) -> String? {
        for (key, value) in table {
            if key.utf8.contains(0) { return key }
            if let nested = value.table, let found = firstKeyWithNUL(in: nested) { return found }
            if let elements = value.array {
                for case .table(let nested) in elements { if let found = firstKeyWithNUL(in: nested) { return found } }
            }
        }
        return nil
    }

    static func stringList(
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
