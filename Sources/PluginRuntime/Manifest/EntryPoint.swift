/// One `alias = "LIBRARY:SYMBOL"` line of a manifest.
public struct EntryPoint: Hashable, Sendable {
    /// The namespace the alias is declared under, e.g. `plughost.plugins`.
    public var namespace: String
    /// The alias, unique among the namespaces a host loads.
    public var alias: String
    /// The manifest file that declares it.
    public var manifestPath: String
    /// The `[plugin] name` of that manifest.
    public var packageName: String
    /// The `[plugin] version` of that manifest.
    public var packageVersion: String
    /// The library as written in the manifest, relative to the manifest.
    public var library: String
    /// The exported entry function's name.
    public var symbol: String

    /// The library path joined to the manifest's folder (not yet checked).
    public var libraryPath: String {
        library.hasPrefix("/") ? library : FileSystem.join(FileSystem.directory(of: manifestPath), library)
    }
}
