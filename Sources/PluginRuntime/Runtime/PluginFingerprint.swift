/// What identifies one build of one plugin as configured: a reload rebuilds
/// a plugin whose fingerprint changed and leaves the others alone.
struct PluginFingerprint: Equatable, Sendable {
    /// The manifest line (alias, library, symbol, manifest version).
    let entry: EntryPoint
    /// SHA-256 of the library file, or why it could not be read.
    let contentHash: String
    /// The `[plugin.ALIAS]` table.
    let config: [String: ConfigValue]
    /// The `[isolation.ALIAS]` settings.
    let isolation: IsolationSettings

    /// The fingerprint of a running instance.
    init(_ instance: PluginInstance) {
        entry = instance.loaded.entry
        contentHash = instance.loaded.contentHash
        config = instance.configTable
        isolation = instance.isolation
    }

    /// The fingerprint of `entry` as it is on disk now, configured by `config`.
    init(_ entry: EntryPoint, config: HostConfig) {
        self.entry = entry
        do {
            contentHash = try ShadowCopy.digest(of: entry.libraryPath).hex
        } catch {
            contentHash = "unreadable: \(error.description)"
        }
        self.config = config.pluginConfigs[entry.alias] ?? [:]
        isolation = config.isolation(of: entry.alias)
    }
}

/// An enabled alias that failed to load, create or start, and the build that failed:
/// a reload tries it again only once its library or config changed.
struct FailedPlugin: Sendable {
    /// The manifest line that failed.
    let entry: EntryPoint
    /// The build that failed, compared with the next one.
    let fingerprint: PluginFingerprint
    /// Why it failed, as its status reports it.
    let error: PluginError
    /// The quarantine that left it out, when that is why.
    let quarantine: QuarantineList.Entry?

    /// The failure of `entry`, built as `fingerprint`.
    init(entry: EntryPoint, fingerprint: PluginFingerprint, error: PluginError, quarantine: QuarantineList.Entry? = nil) {
        self.entry = entry
        self.fingerprint = fingerprint
        self.error = error
        self.quarantine = quarantine
    }

    /// `entry` left out because its build `fingerprint` is quarantined as `quarantine` says.
    init(quarantined entry: EntryPoint, fingerprint: PluginFingerprint, quarantine: QuarantineList.Entry) {
        self.init(entry: entry, fingerprint: fingerprint,
                  error: PluginError(.quarantined, file: entry.libraryPath, alias: entry.alias, reason: quarantine.reason),
                  quarantine: quarantine)
    }

    /// The failure of `entry` as it is on disk now, configured by `config` (it failed to load or create).
    init(_ entry: EntryPoint, config: HostConfig, error: PluginError) {
        self.init(entry: entry, fingerprint: PluginFingerprint(entry, config: config), error: error)
    }

    /// The failure of a created `instance` (its `start` failed).
    init(_ instance: PluginInstance, error: PluginError) {
        self.init(entry: instance.loaded.entry, fingerprint: PluginFingerprint(instance), error: error)
    }
}
