import Hummingbird
import PluginRuntime
import PluginHTTPExtension

/// The host's own endpoints under `/_plughost/`, which plugins may not register.
///
/// All of them follow one access rule, `[host] admin` (see ``AdminAccess``):
/// loopback clients only (the default), a bearer token, or off.
enum AdminEndpoints {
    static let prefix = "/_plughost/"

    static func respond(method: HTTPRequest.Method, path: String, authorization: String?, context: PluginRequestContext,
                        runtime: PluginRuntime, reloader: (any HostControl)?) async -> PluginHTTPResponse {
        if let refusal = refusal(authorization: authorization, context: context, config: runtime.config, path: path) {
            return refusal
        }
        switch (method, path) {
        case (.get, "/_plughost/plugins"):
            return .json(200, pluginsJSON(runtime, supervisor: reloader?.supervisorView))
        case (.post, "/_plughost/reload") where reloader != nil:
            let (succeeded, json) = await reloader!.reloadForAdmin()
            return .json(succeeded ? 200 : 422, json)
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
    /// With workers, the supervisor's view (`supervisor`, a JSON object) is added.
    static func pluginsJSON(_ runtime: PluginRuntime, supervisor: String? = nil) -> String {
        let json = AdminListing(runtime).json
        guard let supervisor, json.hasSuffix("}") else { return json }
        return String(json.dropLast()) + #","supervisor":"# + supervisor + "}"
    }
}
