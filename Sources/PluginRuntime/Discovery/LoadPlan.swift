/// Which entry points load, in which order, after the host config has had its say.
public struct LoadPlan: Sendable {
    /// Entry points to load, in priority order.
    public var enabled: [EntryPoint]
    /// Entry points found in a loaded namespace but not enabled by the config.
    public var disabled: [EntryPoint]
    /// Conflicts and dangling names (duplicate aliases, enabled aliases nobody declares).
    public var problems: [PluginError]

    /// Applies `config` to `catalog`.
    public static func make(catalog: PluginCatalog, config: HostConfig) -> LoadPlan {
        var plan = LoadPlan(enabled: [], disabled: [], problems: [])
        let configFile = config.path ?? "host config"
        let inNamespaces = catalog.entryPoints.filter { config.namespaces.contains($0.namespace) }
        let byAlias = Dictionary(grouping: inNamespaces, by: \.alias)

        var usable: [String: EntryPoint] = [:]
        for alias in byAlias.keys.sorted() {
            let claims = byAlias[alias]!
            if claims.count == 1 {
                usable[alias] = claims[0]
            } else {
                let files = claims.map { "\($0.manifestPath) [\($0.namespace)]" }.joined(separator: " and ")
                plan.problems.append(PluginError(
                    .duplicateAlias, file: claims[0].manifestPath, alias: alias,
                    reason: "declared by \(files); neither loads until one is renamed"))
            }
        }

        if let enabled = config.enabled {
            for alias in enabled {
                if let entry = usable[alias] {
                    plan.enabled.append(entry)
                } else if byAlias[alias] == nil {
                    let place = catalog.entryPoints.contains { $0.alias == alias } ? "in namespaces \(config.namespaces)" : "in \(catalog.directory)"
                    plan.problems.append(PluginError(.aliasNotFound, file: configFile, alias: alias,
                                                     reason: "enabled, but no manifest \(place) declares it"))
                }
            }
            let enabledSet = Set(enabled)
            plan.disabled = usable.values.filter { !enabledSet.contains($0.alias) }.sorted { $0.alias < $1.alias }
        } else {
            plan.enabled = usable.keys.sorted().map { usable[$0]! }
        }

        for alias in config.pluginConfigs.keys.sorted() where byAlias[alias] == nil {
            plan.problems.append(PluginError(.invalidHostConfig, file: configFile, alias: alias,
                                             reason: "[plugin.\(alias)] configures an alias no manifest declares"))
        }
        // A pin that names nobody is most likely a typo that leaves the meant alias unpinned.
        for alias in config.pins.keys.sorted() where byAlias[alias] == nil {
            plan.problems.append(PluginError(.invalidHostConfig, file: configFile, alias: alias,
                                             reason: "[pins] names an alias no manifest declares"))
        }
        if config.requirePins {
            let unpinned = plan.enabled.filter { config.pins[$0.alias] == nil }
            for entry in unpinned {
                plan.problems.append(PluginError(.pinMismatch, file: entry.libraryPath, alias: entry.alias,
                                                 reason: "[host] require-pins is on and [pins] has no digest for this alias (`plughost pin` prints it)"))
            }
            plan.enabled.removeAll { entry in unpinned.contains(entry) }
        }
        return plan
    }
}
