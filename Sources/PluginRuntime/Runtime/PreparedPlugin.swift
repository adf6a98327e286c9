import CPluginABI

/// A plugin whose library loaded and whose config its `parse_config` accepted:
/// ready to be created.
struct PreparedPlugin {
    let loaded: LoadedPlugin
    /// The `[plugin.ALIAS]` table of the host config.
    let configTable: [String: ConfigValue]
    let configuration: PluginConfiguration
    /// The `[isolation.ALIAS]` settings of the host config.
    let isolation: IsolationSettings

    /// Loads `entry` in `pass` and validates its config table from `config`.
    /// The prepared plugin holds one use of its library (given back on failure).
    static func prepare(_ entry: EntryPoint, config: HostConfig, in pass: LibraryPass) throws(PluginError) -> PreparedPlugin {
        let loaded = try PluginLoader.load(entry, in: pass)
        do {
            return try prepare(loaded, config: config)
        } catch {
            loaded.library.release()
            throw error
        }
    }

    /// Validates the config of an already loaded plugin (a reload re-creating a plugin whose library did not change).
    static func prepare(_ loaded: LoadedPlugin, config: HostConfig) throws(PluginError) -> PreparedPlugin {
        let table = config.pluginConfigs[loaded.entry.alias] ?? [:]
        let configuration = PluginConfiguration(table)
        try validate(configuration, of: loaded, configFile: config.path ?? loaded.entry.manifestPath)
        return PreparedPlugin(loaded: loaded, configTable: table, configuration: configuration,
                              isolation: config.isolation(of: loaded.entry.alias))
    }

    private static func validate(_ configuration: PluginConfiguration, of loaded: LoadedPlugin, configFile: String) throws(PluginError) {
        let alias = loaded.entry.alias
        guard let parseConfig = loaded.descriptor.pointee.parse_config else {
            if let key = configuration.keys.first {
                throw PluginError(.configRejected, file: configFile, alias: alias,
                                  reason: "plugin takes no config, but [plugin.\(alias)] sets '\(key)'")
            }
            return
        }
        // No lock: a plugin's lock belongs to its instance (its context), and parse_config runs before there is one.
        try PluginOwner.callUnowned(.configRejected, .returned("parse_config"), file: configFile, alias: alias,
                                     record: loaded.callRecord) {
            parseConfig(loaded.descriptor, configuration.raw, $0)
        }
    }
}
