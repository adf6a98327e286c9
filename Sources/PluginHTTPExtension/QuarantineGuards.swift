public import PluginRuntime

/// What a quarantined plugin guarded over HTTP, read back from its guard lines,
/// and the 503 that answers in its place (see ``EndpointTable``).
///
/// Guard lines (kept by the runtime's guard book while the plugin serves):
/// `http.endpoint METHOD /pattern` for each endpoint it serves,
/// `http.wrapper MATCH` for each wrapper it registered,
/// `http.wrapped METHOD /pattern` for each endpoint one of them wrapped, and
/// `http.declined METHOD /pattern` for each endpoint a wrapper's match named but its `accepts` declined.
final class HTTPFence: @unchecked Sendable {
    // @unchecked Sendable: immutable after init.

    /// The quarantined plugin.
    let alias: String
    /// Its endpoints, as method and pattern shape.
    let endpoints: [(method: String, pattern: PathPattern)]
    /// Its wrappers' matches.
    let matches: [WrapperMatch]
    /// Endpoints its wrappers wrapped, and endpoints they declined, as "METHOD shape".
    let wrapped: Set<String>
    let declined: Set<String>
    /// The answer for everything it guarded: 503 naming the plugin and its last crash.
    let response: PluginHTTPResponse

    init(_ fence: QuarantineFence) {
        alias = fence.alias
        var endpoints: [(String, PathPattern)] = []
        var matches: [WrapperMatch] = []
        var wrapped = Set<String>()
        var declined = Set<String>()
        for line in fence.guards {
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            switch parts[0] {
            case "http.wrapper":
                if let match = WrapperMatch.parse(parts[1]) { matches.append(match) }
            case "http.endpoint", "http.wrapped", "http.declined":
                guard let (method, pattern) = Self.endpoint(parts[1]) else { continue }
                switch parts[0] {
                case "http.endpoint": endpoints.append((method, pattern))
                case "http.wrapped": wrapped.insert(method + " " + pattern.shape)
                default: declined.insert(method + " " + pattern.shape)
                }
            default:
                continue
            }
        }
        self.endpoints = endpoints
        self.matches = matches
        self.wrapped = wrapped
        self.declined = declined
        response = .hostError(503, "plugin quarantined", ["plugin": .text(fence.alias), "reason": .text(fence.reason), "last_crash": .text(fence.lastCrash)])
    }

    /// Whether one of its wrappers would wrap `method` `pattern`: it did, or its match
    /// names it and its `accepts` never declined it (it cannot be asked now: fail closed).
    func guards(method: String, pattern: PathPattern) -> Bool {
        let key = method + " " + pattern.shape
        if wrapped.contains(key) { return true }
        return !declined.contains(key) && matches.contains { $0.matches(method: method, pattern: pattern) }
    }

    /// "METHOD /pattern" split and parsed.
    private static func endpoint(_ text: String) -> (String, PathPattern)? {
        let parts = text.split(separator: " ", maxSplits: 1).map(String.init)
        guard parts.count == 2, case .success(let pattern) = PathPattern.parse(parts[1]) else { return nil }
        return (parts[0], pattern)
    }
}
