public import PluginRuntime

/// The HTTP server's `[host]` keys, declared by this layer (the runtime checks
/// and keeps their values without knowing them; see `HostConfig.declare`), and
/// read back typed, with their defaults. docs/CONFIG.md describes each.
public struct HTTPServerConfig: Sendable {
    /// Who may use the host's admin endpoints (`admin`).
    public var admin: AdminAccess = .loopback
    /// The bearer token admin requests must carry when ``admin`` is ``AdminAccess/token`` (`admin-token`).
    public var adminToken: String?
    /// Who may ask `/_plughost/health` and `/_plughost/ready` (`probe-access`).
    public var probeAccess: ProbeAccess = .admin
    /// Whether requests are counted for `/_plughost/metrics` (`metrics`).
    public var metrics = true
    /// A connection that has not sent a request's complete headers within this time is closed (`header-timeout-ms`).
    public var headerTimeout: Duration = .seconds(10)
    /// A request whose plugin work takes longer is answered 504 naming the plugin (`request-timeout-ms`).
    public var requestTimeout: Duration = .seconds(30)
    /// Per-endpoint overrides of ``requestTimeout`` (`[request-timeouts]`), by "METHOD /pattern".
    public var endpointTimeouts: [String: Duration] = [:]
    /// A plugin call running longer than this is a hang (`hang-kill-ms`).
    public var hangKill: Duration = .seconds(60)
    /// Threads that run blocking plugin calls on the request path (`plugin-threads`).
    public var pluginThreads = 64
    /// Calls one plugin may run at once on the request path (`plugin-concurrency`).
    public var pluginConcurrency = 32
    /// Requests that may wait for one plugin; past it, a 503 naming the plugin (`plugin-queue`).
    public var pluginQueue = 256

    /// The defaults.
    public init() {}

    /// The settings `config` holds (defaults for keys it does not set).
    public init(_ config: HostConfig) {
        Self.declare()
        let values = config.layerSettings
        func milliseconds(_ key: String) -> Duration? {
            if case .integer(let count)? = values[key] { return .milliseconds(count) }
            return nil
        }
        func count(_ key: String) -> Int? {
            if case .integer(let count)? = values[key] { return Int(count) }
            return nil
        }
        func flag(_ key: String) -> Bool? {
            if case .bool(let flag)? = values[key] { return flag }
            return nil
        }
        if let access = values["admin"]?.text.flatMap(AdminAccess.init(rawValue:)) { admin = access }
        if let token = values["admin-token"]?.text, !token.isEmpty { adminToken = token }
        if let access = values["probe-access"]?.text.flatMap(ProbeAccess.init(rawValue:)) { probeAccess = access }
        metrics = flag("metrics") ?? metrics
        headerTimeout = milliseconds("header-timeout-ms") ?? headerTimeout
        requestTimeout = milliseconds("request-timeout-ms") ?? requestTimeout
        hangKill = milliseconds("hang-kill-ms") ?? hangKill
        pluginThreads = count("plugin-threads") ?? pluginThreads
        pluginConcurrency = count("plugin-concurrency") ?? pluginConcurrency
        pluginQueue = count("plugin-queue") ?? pluginQueue
        endpointTimeouts = config.endpointTimeouts
    }

    /// The keys this layer adds to `[host]`.
    public static let keys: [HostKey] = [
        .text("admin", oneOf: ["loopback", "token", "off"]),
        .text("admin-token"),
        .text("probe-access", oneOf: ["admin", "anywhere"]),
        .flag("metrics"),
        .milliseconds("header-timeout-ms"),
        .milliseconds("request-timeout-ms"),
        .milliseconds("hang-kill-ms"),
        .count("plugin-threads", 1...4096),
        .count("plugin-concurrency", 1...4096),
        .count("plugin-queue", 0...(1 << 20)),
    ]

    /// Declares ``keys`` to the runtime, once per process: configs loaded afterwards accept them.
    /// Called by anything that reads these settings, and by `plughost` before it loads a config.
    public static func declare() {
        _ = declaration
    }

    private static let declaration: Void = HostConfig.declare(layer: "http", keys: keys) { values in
        if values["admin"]?.text == "token" && (values["admin-token"]?.text ?? "").isEmpty {
            return #"host.admin = "token" needs a non-empty host.admin-token"#
        }
        return nil
    }
}
