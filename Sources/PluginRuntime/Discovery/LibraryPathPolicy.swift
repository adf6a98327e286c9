/// Keeps every plugin library inside the plugins folder: no absolute paths,
/// no `..` out of it, no symlink that leads out of it.
enum LibraryPathPolicy {
    /// Checks `entry`'s library against `root` (the plugins folder).
    /// - Returns: The library's canonical path.
    static func resolve(_ entry: EntryPoint, root: String) throws(PluginError) -> String {
        func fail(_ code: PluginError.Code, _ reason: String) -> PluginError {
            PluginError(code, file: entry.manifestPath, alias: entry.alias, reason: reason)
        }
        guard !entry.library.hasPrefix("/") else {
            throw fail(.libraryOutsidePluginsFolder, "absolute library path '\(entry.library)' is not allowed; give it relative to the manifest")
        }
        guard let canonicalRoot = FileSystem.realPath(root) else {
            throw fail(.libraryNotFound, "plugins folder '\(root)' does not exist")
        }
        let joined = entry.libraryPath
        guard let canonical = FileSystem.realPath(joined) else {
            if escapes(lexically: joined, root: root) {
                throw fail(.libraryOutsidePluginsFolder, "library '\(entry.library)' lies outside the plugins folder")
            }
            throw fail(.libraryNotFound, "library '\(entry.library)' does not exist (looked for \(joined))")
        }
        guard canonical.hasPrefix(canonicalRoot.hasSuffix("/") ? canonicalRoot : canonicalRoot + "/") else {
            let how = FileSystem.isSymlink(joined) ? "is a symlink that leads" : "lies"
            throw fail(.libraryOutsidePluginsFolder, "library '\(entry.library)' \(how) outside the plugins folder (to \(canonical))")
        }
        guard FileSystem.kind(of: canonical) == .file else {
            throw fail(.notASharedLibrary, "library '\(entry.library)' is not a regular file")
        }
        return canonical
    }

    /// Whether `path`, with `.` and `..` folded, leaves `root`.
    private static func escapes(lexically path: String, root: String) -> Bool {
        let rootDepth = normalized(root).count
        var parts = normalized(root)
        let relative = path.hasPrefix(root) ? String(path.dropFirst(root.count)) : path
        for part in relative.split(separator: "/") {
            if part == "." || part.isEmpty { continue }
            if part == ".." {
                if parts.count <= rootDepth { return true }
                parts.removeLast()
            } else {
                parts.append(String(part))
            }
        }
        return false
    }

    private static func normalized(_ path: String) -> [String] {
        path.split(separator: "/").filter { $0 != "." && !$0.isEmpty }.map(String.init)
    }
}
