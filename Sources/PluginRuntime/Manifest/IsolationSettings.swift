/// How one plugin is kept apart from the host: in the host's own process (the
/// default), or in a sandboxed process of its own with limits.
///
/// Set per alias by `[isolation.ALIAS]` in the host config:
///
/// ```toml
/// [isolation.greeter]
/// mode = "process"          # or "in-process" (the default)
/// memory-mb = 256           # default 512
/// open-files = 256          # default 256
/// sandbox = "strict"        # or "none"
/// call-timeout-ms = 10000   # default 10000
/// ```
///
/// The process tier is described in docs/CONTAINMENT.md; the keys in docs/CONFIG.md.
public struct IsolationSettings: Sendable, Equatable, Hashable {
    /// Where the plugin's code runs.
    public enum Mode: String, Sendable {
        /// Loaded into the host's process, like every plugin without `[isolation.ALIAS]`.
        case inProcess = "in-process"
        /// Loaded into a process of its own, which the host talks to.
        case process
    }

    /// What the plugin's process may do besides talking to the host.
    public enum Sandbox: String, Sendable {
        /// Confined: only what a plugin needs to run (the default).
        case strict
        /// Not confined; only the limits apply.
        case none
    }

    /// The limits `memory-mb` and `open-files` may take.
    public static let limitRange = 16...1_048_576

    /// Where the plugin's code runs.
    public var mode: Mode
    /// The plugin process's memory limit in MiB (only with ``Mode/process``).
    public var memoryMB: Int
    /// The plugin process's limit of open file descriptors (only with ``Mode/process``).
    public var openFiles: Int
    /// How the plugin process is confined (only with ``Mode/process``).
    public var sandbox: Sandbox
    /// A call into the plugin process running longer than this is a hang: it is
    /// answered 504 and the process is replaced (only with ``Mode/process``).
    public var callTimeout: Duration

    /// Settings with the defaults of `[isolation.ALIAS]` for whatever is not given.
    public init(
        mode: Mode = .inProcess, memoryMB: Int = 512, openFiles: Int = 256,
        sandbox: Sandbox = .strict, callTimeout: Duration = .seconds(10)
    ) {
        self.mode = mode
        self.memoryMB = memoryMB
        self.openFiles = openFiles
        self.sandbox = sandbox
        self.callTimeout = callTimeout
    }

    /// The settings of an alias without `[isolation.ALIAS]`: in the host's process.
    public static let inProcess = IsolationSettings()

    /// One line for status output: `in-process`, or `process (strict, 256 MiB, 256 files)`.
    public var summary: String {
        switch mode {
        case .inProcess: "in-process"
        case .process: "process (\(sandbox.rawValue), \(memoryMB) MiB, \(openFiles) files)"
        }
    }
}

extension IsolationSettings {
    /// The keys `[isolation.ALIAS]` accepts.
    static let keys = ["mode", "memory-mb", "open-files", "sandbox", "call-timeout-ms"]

    /// Reads one `[isolation.ALIAS]` table, or throws an error naming the key and what it expects.
    static func parse(
        _ table: [String: ConfigValue], alias: String, fail: (String, String?) -> PluginError
    ) throws(PluginError) -> IsolationSettings {
        let prefix = "isolation.\(alias)"
        var settings = IsolationSettings()
        for (key, value) in table.sorted(by: { $0.key < $1.key }) {
            func limit() throws(PluginError) -> Int {
                guard case .integer(let count) = value, limitRange.contains(Int(clamping: count)) else {
                    throw fail("\(prefix).\(key) must be an integer from \(limitRange.lowerBound) to \(limitRange.upperBound), found \(value.json)", alias)
                }
                return Int(count)
            }
            switch key {
            case "mode":
                guard let mode = value.string.flatMap(Mode.init(rawValue:)) else {
                    throw fail("\(prefix).mode must be \"in-process\" or \"process\", found \(value.json)", alias)
                }
                settings.mode = mode
            case "memory-mb":
                settings.memoryMB = try limit()
            case "open-files":
                settings.openFiles = try limit()
            case "sandbox":
                guard let sandbox = value.string.flatMap(Sandbox.init(rawValue:)) else {
                    throw fail("\(prefix).sandbox must be \"strict\" or \"none\", found \(value.json)", alias)
                }
                settings.sandbox = sandbox
            case "call-timeout-ms":
                guard case .integer(let count) = value, count > 0 else {
                    throw fail("\(prefix).call-timeout-ms must be a positive integer, found \(value.json)", alias)
                }
                settings.callTimeout = .milliseconds(count)
            default:
                throw fail("unknown key '\(prefix).\(key)' (known: \(keys.joined(separator: ", ")))", alias)
            }
        }
        if settings.mode == .inProcess, let key = keys.dropFirst().first(where: { table[$0] != nil }) {
            throw fail("\(prefix).\(key) is set, but \(keys.dropFirst().joined(separator: ", ")) only apply with mode = \"process\" (mode is \"in-process\" here)", alias)
        }
        return settings
    }
}
