/// Every manifest and entry point found in a plugins folder.
///
/// The folder is read in sorted order (never in `readdir` order): its `*.toml`
/// files, then the `*.toml` files of each subfolder. Entries whose library is
/// missing or outside the folder are left out and reported.
public struct PluginCatalog: Sendable {
    /// The plugins folder, as given.
    public var directory: String
    /// Manifests that parsed.
    public var manifests: [PluginManifest]
    /// Entry points whose library path checked out, sorted by alias then manifest.
    public var entryPoints: [EntryPoint]
    /// Everything refused while scanning: one error per manifest or alias.
    public var problems: [PluginError]

    /// Scans `directory`.
    /// - Parameter strictPermissions: Refuse the folder, and each manifest, when
    ///   someone other than root or this user could have written it or a folder above it.
    public static func scan(directory: String, strictPermissions: Bool = true) -> PluginCatalog {
        var catalog = PluginCatalog(directory: directory, manifests: [], entryPoints: [], problems: [])
        guard FileSystem.kind(of: directory) == .directory else {
            catalog.problems.append(PluginError(.invalidManifest, file: directory, reason: "plugins folder does not exist or is not a folder"))
            return catalog
        }
        let safeParents = FilePermissions.SafeParents()
        if strictPermissions {
            do {
                try FilePermissions.check(directory, known: safeParents)
            } catch {
                catalog.problems.append(PluginError(.unsafePermissions, file: directory,
                                                    reason: "plugins folder refused: \(error.description) (or set [host] strict-permissions = false while developing)"))
                return catalog
            }
        }
        for path in manifestPaths(in: directory) {
            catalog.add(manifestAt: path, strictPermissions: strictPermissions, safeParents: safeParents)
        }
        catalog.entryPoints.sort { ($0.alias, $0.manifestPath) < ($1.alias, $1.manifestPath) }
        return catalog
    }

    /// Reads one manifest into the catalog (used for `plughost check MANIFEST`).
    mutating func add(manifestAt path: String, strictPermissions: Bool, safeParents: FilePermissions.SafeParents? = nil) {
        if strictPermissions {
            do {
                try FilePermissions.check(path, known: safeParents)
            } catch {
                problems.append(PluginError(.unsafePermissions, file: path,
                                            reason: "manifest refused: \(error.description) (or set [host] strict-permissions = false while developing)"))
                return
            }
        }
        do {
            let manifest = try PluginManifest.load(path: path)
            manifests.append(manifest)
            problems += manifest.problems
            for entry in manifest.entryPoints {
                do {
                    _ = try LibraryPathPolicy.resolve(entry, root: directory)
                    entryPoints.append(entry)
                } catch {
                    problems.append(error)
                }
            }
        } catch {
            problems.append(error)
        }
    }

    /// The folders a scan of `directory` reads manifests from besides `directory` itself, sorted.
    public static func subfolders(of directory: String) -> [String] {
        ((try? FileSystem.list(directory)) ?? [])
            .filter { !$0.hasPrefix(".") }
            .map { FileSystem.join(directory, $0) }
            .filter { FileSystem.kind(of: $0) == .directory }
    }

    /// The folder that holds `path`.
    public static func folder(of path: String) -> String {
        FileSystem.directory(of: path)
    }

    private static func manifestPaths(in directory: String) -> [String] {
        var paths: [String] = []
        var subfolders: [String] = []
        for name in (try? FileSystem.list(directory)) ?? [] where !name.hasPrefix(".") {
            let path = FileSystem.join(directory, name)
            switch FileSystem.kind(of: path) {
            case .file where name.hasSuffix(".toml"): paths.append(path)
            case .directory: subfolders.append(path)
            default: break
            }
        }
        for folder in subfolders {
            for name in (try? FileSystem.list(folder)) ?? [] where name.hasSuffix(".toml") && !name.hasPrefix(".") {
                let path = FileSystem.join(folder, name)
                if FileSystem.kind(of: path) == .file { paths.append(path) }
            }
        }
        return paths
    }
}
