import CPluginABI

/// Validates plugins without serving: a folder, a manifest or a library.
///
/// Everything is checked that can be without creating an instance: manifest,
/// library path, ELF, `dlopen`, entry symbol, ABI, required members, config.
public enum PluginChecker {
    /// Checks `path` and returns one status per alias or refused file.
    /// - Parameters:
    ///   - path: A plugins folder, a manifest (`.toml`) or a library (`.so`).
    ///   - config: Supplies the plugin config tables; `enabled` and
    ///     `namespaces` are ignored so that every entry point is checked.
    public static func check(path: String, config: HostConfig = HostConfig()) -> [PluginStatus] {
        guard FileSystem.kind(of: path) != .missing else {
            return [PluginStatus(problem: PluginError(.libraryNotFound, file: path, reason: "no such file or folder"))]
        }
        return inspectAll(catalog(at: path, strictPermissions: config.strictPermissions), config: config)
    }

    /// The entry points at `path` (a plugins folder, a manifest, or a library: the entries of the
    /// manifests beside it that name it, else its default entry symbol) and the problems found on the way.
    public static func catalog(at path: String, strictPermissions: Bool = true) -> PluginCatalog {
        switch FileSystem.kind(of: path) {
        case .missing:
            return PluginCatalog(directory: path, manifests: [], entryPoints: [], problems: [])
        case .directory:
            return PluginCatalog.scan(directory: path, strictPermissions: strictPermissions)
        default:
            if path.hasSuffix(".toml") {
                var catalog = PluginCatalog(directory: FileSystem.directory(of: path), manifests: [], entryPoints: [], problems: [])
                catalog.add(manifestAt: path, strictPermissions: strictPermissions)
                return catalog
            }
            return libraryCatalog(path, strictPermissions: strictPermissions)
        }
    }

    private static func inspectAll(_ catalog: PluginCatalog, config: HostConfig) -> [PluginStatus] {
        var everything = config
        everything.enabled = nil
        everything.namespaces = Array(Set(catalog.entryPoints.map(\.namespace))).sorted()
        if everything.namespaces.isEmpty { everything.namespaces = [HostConfig.defaultNamespace] }
        return PluginRuntime.inspect(catalog: catalog, config: everything)
    }

    /// A bare library: the entries of manifests beside it that name it, or else its default entry symbol.
    private static func libraryCatalog(_ path: String, strictPermissions: Bool) -> PluginCatalog {
        let folder = FileSystem.directory(of: path)
        let name = String(path.split(separator: "/").last ?? Substring(path))
        var catalog = PluginCatalog(directory: folder, manifests: [], entryPoints: [], problems: [])
        for file in (try? FileSystem.list(folder)) ?? [] where file.hasSuffix(".toml") {
            var candidate = PluginCatalog(directory: folder, manifests: [], entryPoints: [], problems: [])
            candidate.add(manifestAt: FileSystem.join(folder, file), strictPermissions: strictPermissions)
            let naming = candidate.entryPoints.filter { $0.library == name || $0.library == "./" + name }
            catalog.entryPoints += naming
        }
        if catalog.entryPoints.isEmpty {
            let alias = name.hasPrefix("lib") ? String(name.dropFirst(3).prefix { $0 != "." }) : String(name.prefix { $0 != "." })
            catalog.entryPoints = [EntryPoint(
                namespace: HostConfig.defaultNamespace, alias: alias, manifestPath: path, packageName: alias,
                packageVersion: "?", library: name, symbol: PH_DEFAULT_ENTRY)]
        }
        return catalog
    }
}
