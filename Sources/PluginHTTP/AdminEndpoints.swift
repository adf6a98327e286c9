import Hummingbird
import PluginRuntime

/// The host's own endpoints under `/_plughost/`, which plugins may not register.
///
/// All of them follow one access rule, `[host] admin` (see ``AdminAccess``):
/// loopback clients only (the default), a bearer token, or off.
enum AdminEndpoints {
    static let prefix = "/_plughost/"

    static func respond(method: HTTPRequest.Method, path: String, authorization: String?, context: PluginRequestContext,
                        runtime: PluginRuntime, reloader: ReloadScheduler?) async -> PluginHTTPResponse {
        if let refusal = refusal(authorization: authorization, context: context, config: runtime.config, path: path) {
            return refusal
        }
        switch (method, path) {
        case (.get, "/_plughost/plugins"):
            return .json(200, pluginsJSON(runtime))
        case (.post, "/_plughost/reload") where reloader != nil:
            let report = await reloader!.reload()
            return .json(report.succeeded ? 200 : 422, report.json)
        case (_, "/_plughost/reload") where reloader != nil, (_, "/_plughost/plugins"):
            return .json(405, #"{"error":"method not allowed","path":\#(ConfigValue.jsonQuoted(path))}"#)
        default:
            return .json(404, #"{"error":"not found","path":\#(ConfigValue.jsonQuoted(path))}"#)
        }
    }

    /// The answer for a client the access rule turns away, or nil to serve it.
    private static func refusal(authorization: String?, context: PluginRequestContext, config: HostConfig,
                                path: String) -> PluginHTTPResponse? {
        switch config.admin {
        case .off:
            return .json(404, #"{"error":"not found","path":\#(ConfigValue.jsonQuoted(path))}"#)
        case .loopback:
            guard context.isLoopback else {
                return .json(403, #"{"error":"admin endpoints answer loopback clients only ([host] admin = \"loopback\")"}"#)
            }
            return nil
        case .token:
            guard AdminAccess.authorizationMatches(authorization, token: config.adminToken) else {
                var response = PluginHTTPResponse.json(401, #"{"error":"admin endpoints need Authorization: Bearer <[host] admin-token>"}"#)
                response.headers.append(("WWW-Authenticate", #"Bearer realm="plughost admin""#))
                return response
            }
            return nil
        }
    }

    /// Every alias with state, version, library, ABI, its endpoints and wrappers, and its last error.
    static func pluginsJSON(_ runtime: PluginRuntime) -> String {
        let listing = runtime.generation?.endpoints.listing ?? []
        let wrappers = runtime.generation?.endpoints.wrapperListing ?? [:]
        let entries = runtime.statuses.map { status -> String in
            let alias = status.alias
            let endpoints = listing.filter { $0.alias == alias }.map { endpoint in
                var fields = [
                    "\"method\":\(quoted(endpoint.method))", "\"path\":\(quoted(endpoint.path))",
                    "\"kind\":\(quoted(endpoint.kind))",
                    "\"wrappers\":[\(endpoint.wrappers.map(quoted).joined(separator: ","))]",
                ]
                if let reason = endpoint.unavailable { fields.append("\"unavailable\":\(quoted(reason))") }
                return "{" + fields.joined(separator: ",") + "}"
            }
            let lastError = status.error ?? status.warnings.last
            let fields = [
                "\"alias\":\(alias.map(quoted) ?? "null")",
                "\"namespace\":\(status.namespace.map(quoted) ?? "null")",
                "\"state\":\(quoted(status.state.rawValue))",
                "\"version\":\(status.version.map(quoted) ?? "null")",
                "\"library\":\(status.library.map(quoted) ?? "null")",
                "\"manifest\":\(quoted(status.file))",
                "\"abi\":\(status.abi.map(quoted) ?? "null")",
                "\"endpoints\":[\(endpoints.joined(separator: ","))]",
                "\"wrappers\":[\((alias.flatMap { wrappers[$0] } ?? []).map(quoted).joined(separator: ","))]",
                "\"warnings\":[\(status.warnings.map { quoted($0.description) }.joined(separator: ","))]",
                "\"last_error\":\(lastError.map { quoted($0.description) } ?? "null")",
            ]
            return "{" + fields.joined(separator: ",") + "}"
        }
        let fields = [
            "\"generation\":\(runtime.generation?.number ?? 0)",
            "\"reloads\":\(runtime.reloadCount)",
            "\"last_reload\":\(runtime.lastReload?.json ?? "null")",
            "\"retained_swift_images\":\(runtime.retainedSwiftImages)",
            "\"lingering_generations\":\(runtime.lingeringGenerations)",
            "\"plugins\":[\(entries.joined(separator: ","))]",
        ]
        return "{" + fields.joined(separator: ",") + "}"
    }

    private static func quoted(_ text: String) -> String { ConfigValue.jsonQuoted(text) }
}
