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
                        runtime: PluginRuntime, reloader: (any HostControl)?, metrics: HostMetrics? = nil,
                        readiness: HostReadiness? = nil) async -> PluginHTTPResponse {
        let config = HTTPServerConfig(runtime.config)
        if let probe = Probe(path: path) {
            // Probes: the admin rule, but loopback always and anyone with probe-access = "anywhere".
            if config.probeAccess == .admin && !context.isLoopback,
               let refusal = refusal(authorization: authorization, context: context, config: config, path: path) {
                return refusal
            }
            guard method == .get || method == .head else {
                return .hostError(405, "method not allowed", ["path": .text(path)])
            }
            return probe.answer(runtime: runtime, readiness: readiness)
        }
        if let refusal = refusal(authorization: authorization, context: context, config: config, path: path) {
            return refusal
        }
        switch (method, path) {
        case (.get, "/_plughost/"):
            var page = PluginHTTPResponse(status: 200, headers: [("Content-Type", "text/html; charset=utf-8")], body: Array(AdminPage.html.utf8))
            // The page's own inline script and style only; it fetches /_plughost/plugins from the same origin.
            page.headers.append(("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'"))
            return page
        case (.get, "/_plughost/metrics") where metrics != nil:
            // With workers, the whole host's figures: every scrape reads the same totals, whichever worker answers.
            let host = await reloader?.hostView()
            if let host, !host.available {
                return .hostError(503, "the supervisor did not answer in time: no figures for the whole host")
            }
            let text = host?.metrics ?? metrics!.exposition(runtime: runtime)
            return PluginHTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")], body: Array(text.utf8))
        case (.get, "/_plughost/plugins"):
            let host = await reloader?.hostView()
            return .json(200, pluginsJSON(runtime, supervisor: reloader?.supervisorView, host: host?.available == true ? host : nil))
        case (.get, "/_plughost/openapi.json"):
            let generation = runtime.generation
            let document = generation?.endpoints.openAPIDocument(generation: generation?.number ?? 0)
                ?? EndpointTable.emptyOpenAPIDocument
            return .json(200, document.text)
        case (.post, "/_plughost/reload") where reloader != nil:
            let (succeeded, json) = await reloader!.reloadForAdmin()
            return .json(succeeded ? 200 : 422, json)
        case (_, "/_plughost/reload") where reloader != nil, (_, "/_plughost/plugins"), (_, "/_plughost/openapi.json"):
            return .hostError(405, "method not allowed", ["path": .text(path)])
        default:
            return .hostError(404, "not found", ["path": .text(path)])
        }
    }

    /// The answer for a client the access rule turns away, or nil to serve it.
    private static func refusal(authorization: String?, context: PluginRequestContext, config: HTTPServerConfig,
                                path: String) -> PluginHTTPResponse? {
        switch config.admin {
        case .off:
            return .hostError(404, "not found", ["path": .text(path)])
        case .loopback:
            guard context.isLoopback else {
                return .hostError(403, #"admin endpoints answer loopback clients only ([host] admin = "loopback")"#)
            }
            return nil
        case .token:
            guard AdminAccess.authorizationMatches(authorization, token: config.adminToken) else {
                var response = PluginHTTPResponse.hostError(401, "admin endpoints need Authorization: Bearer <[host] admin-token>")
                response.headers.append(("WWW-Authenticate", #"Bearer realm="plughost admin""#))
                return response
            }
            return nil
        }
    }

    /// Every alias with state, version, library, ABI, its endpoints and wrappers, and its last error.
    /// With workers, the supervisor's view (`supervisor`, a JSON object) and every worker's
    /// generation and plugin states (`workers`, and `worker_states` on each plugin) are added.
    static func pluginsJSON(_ runtime: PluginRuntime, supervisor: String? = nil, host: HostView? = nil) -> String {
        var listing = AdminListing(runtime)
        if let host { listing.add(host) }
        let json = listing.json
        guard let supervisor, json.hasSuffix("}") else { return json }
        return String(json.dropLast()) + #","supervisor":"# + supervisor + "}"
    }
}
