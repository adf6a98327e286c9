import CPluginABI

/// A plugin whose library loaded and whose config its `parse_config` accepted:
/// ready to be created.
struct PreparedPlugin {
    let loaded: LoadedPlugin
    let configuration: PluginConfiguration

    /// Loads `entry` and validates its config table from `config`.
    static func prepare(_ entry: EntryPoint, config: HostConfig) throws(PluginError) -> PreparedPlugin {
        let loaded = try PluginLoader.load(entry)
        let configuration = PluginConfiguration(config.pluginConfigs[entry.alias] ?? [:])
        do {
            try validate(configuration, of: loaded, configFile: config.path ?? entry.manifestPath)
        } catch {
            loaded.library.close()
            throw error
        }
        return PreparedPlugin(loaded: loaded, configuration: configuration)
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
        let (status, message) = MessageBuffer.with { parseConfig(loaded.descriptor, configuration.raw, $0) }
        guard status == PH_OK else {
            throw PluginError(.configRejected, file: configFile, alias: alias,
                              reason: message.isEmpty ? "parse_config returned status \(status)" : message)
        }
    }
}
