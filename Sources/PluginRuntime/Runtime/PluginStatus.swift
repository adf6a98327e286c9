/// What the host knows about one alias (or one file that yielded none).
public struct PluginStatus: Sendable, Codable {
    /// Where an alias stands.
    public enum State: String, Sendable, Codable {
        /// Library loaded, ABI and config accepted (not started: `list`, `check`).
        case loaded
        /// Created and started; serving.
        case running
        /// Stopped and destroyed at shutdown.
        case stopped
        /// Refused or failed; see ``PluginStatus/error``.
        case failed
        /// Found, but not enabled by the host config.
        case disabled
        /// Left out after crashing `crash-limit` times; see ``PluginStatus/error`` for the last crash.
        case quarantined
    }

    /// The alias, when the problem belongs to one.
    public var alias: String?
    /// The namespace it was declared under.
    public var namespace: String?
    /// The manifest (or other file) concerned.
    public var file: String
    /// The library as the manifest names it.
    public var library: String?
    /// The plugin's version (from its descriptor once loaded, else its manifest).
    public var version: String?
    /// The ABI the plugin was built against, once loaded.
    public var abi: String?
    /// The SHA-256 (hex) of the library bytes loaded, while it runs.
    public var sha256: String?
    /// Its state.
    public var state: State
    /// Why it failed, for ``State/failed``.
    public var error: PluginError?
    /// Where it runs (`[isolation.ALIAS]`), and its plugin process when isolated; nil for a refused file.
    public var isolation: IsolationStatus?
    /// Registrations refused while it ran (endpoint conflicts, bad signatures, wrapper prepare failures); it still runs.
    public var warnings: [PluginError] = []

    init(entry: EntryPoint, state: State, version: String? = nil, abi: String? = nil, error: PluginError? = nil) {
        self.alias = entry.alias
        self.namespace = entry.namespace
        self.file = entry.manifestPath
        self.library = entry.libraryPath
        self.version = version ?? entry.packageVersion
        self.abi = abi
        self.state = state
        self.error = error
    }

    /// The status of a file or alias refused for `problem`.
    public init(problem: PluginError) {
        self.alias = problem.alias
        self.file = problem.file
        self.state = .failed
        self.error = problem
    }
}
