#if canImport(Glibc)
import Glibc
#endif
public import CPluginABI
public import PluginRuntime
import Logging

/// The endpoints of one generation with their wrapper chains, frozen.
///
/// Built once when a generation is frozen: conflicts are resolved (first in
/// config order wins), each wrapper's `accepts` and `prepare` run once per
/// endpoint it matches, and every route gets its list of steps:
/// pre-wrappers, parameter parsing, post-wrappers, the endpoint.
public final class EndpointTable: ExtensionPart, @unchecked Sendable {
    // @unchecked Sendable: routes are immutable after init; per-request state
    // lives in a RequestContext and its C chain request; `released` is touched
    // only on the control thread.

    /// What a request's method and path lead to, with the captures decoded (for tests and tools;
    /// requests decode captures lazily, see RequestContext).
    enum Lookup {
        case found(Route, captures: [(String, [UInt8])])
        case methodNotAllowed([String])
        case notFound
    }

    let routes: [Route]
    private let router: Router<Route>
    let wrappers: [WrapperRegistration]
    /// Endpoints of quarantined plugins that no running plugin serves: they answer 503.
    let fencedRouter: Router<HTTPFence>
    let fencedListing: [EndpointListing]
    private var released = false
    /// Conflicts and prepare failures found while building, one per loser.
    public let warnings: [PluginError]
    /// What each plugin guards here (see ``HTTPFence`` for the lines).
    public let guards: [String: [String]]

    /// A table with no endpoints (a generation of a runtime without HTTP).
    static let empty = EndpointTable(endpoints: [], wrappers: [])

    /// Freezes registrations given in priority order (config order, then registration order);
    /// what the quarantined plugins of `fences` guarded answers 503.
    init(endpoints ordered: [EndpointRegistration], wrappers activeWrappers: [WrapperRegistration], fences: [HTTPFence] = []) {
        var warnings: [PluginError] = []
        var guards: [String: [String]] = [:]
        for wrapper in activeWrappers { guards[wrapper.owner.alias, default: []].append("http.wrapper \(wrapper.match)") }
        var winners: [String: EndpointRegistration] = [:]
        var routes: [Route] = []
        for registration in ordered {
            let key = registration.method + " " + registration.pattern.shape
            if let winner = winners[key] {
                let reason = "\(registration.method) \(registration.pattern) is already served by '\(winner.owner.alias)' (earlier in config order)"
                registration.owner.logger.warning("\(reason); this endpoint is not served")
                warnings.append(PluginError(.endpointConflict, file: registration.owner.libraryPath, alias: registration.owner.alias, reason: reason))
                continue
            }
            winners[key] = registration
            let endpoint = "\(registration.method) \(registration.pattern)"
            guards[registration.owner.alias, default: []].append("http.endpoint " + endpoint)
            let fence = fences.first { $0.guards(method: registration.method, pattern: registration.pattern) }
            routes.append(Self.route(for: registration, wrappers: activeWrappers, fence: fence, warnings: &warnings, guards: &guards))
        }
        self.routes = routes
        self.router = Router(routes.map { ($0.registration.method, $0.registration.pattern, $0) })
        self.wrappers = activeWrappers
        self.warnings = warnings
        self.guards = guards
        // A quarantined plugin's own endpoints answer 503, unless a running plugin serves them now.
        var fenced: [(method: String, pattern: PathPattern, target: HTTPFence)] = []
        for fence in fences {
            for (method, pattern) in fence.endpoints where winners[method + " " + pattern.shape] == nil {
                if !fenced.contains(where: { $0.method == method && $0.pattern.shape == pattern.shape }) { fenced.append((method, pattern, fence)) }
            }
        }
        fencedRouter = Router(fenced)
        fencedListing = fenced.map {
            EndpointListing(alias: $0.target.alias, method: $0.method, path: $0.pattern.description, kind: "quarantined",
                            wrappers: [], unavailable: "plugin '\($0.target.alias)' is quarantined")
        }
    }

    /// Finds the route for `method` and `path` as requests do (see ``Router``), and decodes its captures.
    func lookup(method: String, path: String) -> Lookup {
        switch router.match(method: method, path: path) {
        case .notFound: return .notFound
        case .methodNotAllowed(let allowed): return .methodNotAllowed(allowed)
        case .found(let route):
            let context = RequestContext(request: PluginHTTPRequest(method: method, path: path), route: route)
            let captures = route.registration.pattern.captureNames.enumerated().map { index, name in
                (name, context.capture(index).map { Array($0.buffer) } ?? [])
            }
            return .found(route, captures: captures)
        }
    }

    /// Runs the request through its route's chain and returns the response
    /// (waiting on this thread for a request a plugin deferred).
    public func handle(_ request: PluginHTTPRequest) -> PluginHTTPResponse {
        let resolved = resolve(request)
        // The common case without the outcome's detour: a route that cannot defer.
        if let route = resolved.route, !route.mayDefer {
            let context = RequestContext(request: request, route: route)
            _ = ChainWalk.run(context)
            return context.response
        }
        return handle(request, resolved: resolved)
    }

    /// Where `request` leads, found without running plugin code: an answer of the host's
    /// own (404, 405, 503), or a route whose chain ``handle(_:resolved:)`` runs.
    public func resolve(_ request: PluginHTTPRequest) -> ResolvedRequest {
        let match = router.match(method: request.method, path: request.path)
        if case .found(let route) = match, route.fence == nil, route.disabled == nil {
            return ResolvedRequest(route: route, answer: nil)
        }
        return ResolvedRequest(route: nil, answer: answer(request, match))
    }

    /// Runs the chain of `resolved` for `request` (resolved by this table), or returns its answer.
    /// A request a plugin deferred is waited for on this thread (see ``serve(_:resolved:)``).
    public func handle(_ request: PluginHTTPRequest, resolved: ResolvedRequest) -> PluginHTTPResponse {
        serve(request, resolved: resolved).waitedFor()
    }

    /// What serving a request led to: its response, or a request a plugin deferred.
    public enum Outcome: Sendable {
        /// Answered.
        case done(PluginHTTPResponse)
        /// A step answered PH_PENDING; the response comes with `http->resume` (see ``Deferral``).
        case pending(Deferral)

        /// The response, waiting on this thread for a deferred one (for synchronous callers).
        public func waitedFor() -> PluginHTTPResponse {
            switch self {
            case .done(let response):
                return response
            case .pending(let deferral):
                let done = DispatchSemaphoreBox()
                deferral.onCompletion { done.put($0) }
                return done.take()
            }
        }
    }

    /// Runs the chain of `resolved` for `request`, or returns its answer; a deferred request
    /// holds no thread (the caller waits with ``Deferral/onCompletion(_:)``).
    public func serve(_ request: PluginHTTPRequest, resolved: ResolvedRequest) -> Outcome {
        guard let route = resolved.route else { return .done(resolved.answer!) }
        let context = RequestContext(request: request, route: route)
        if let deferral = ChainWalk.run(context) { return .pending(deferral) }
        return .done(context.response)
    }

    /// Calls every wrapper's `release` for the states its `prepare` made. Once; control thread.
    public func release() {
        guard !released else { return }
        released = true
        for route in routes {
            for case .wrapper(let step) in route.steps {
                if let release = step.registration.raw.release {
                    step.registration.owner.withLock(.release) { release(step.userData, step.state) }
                }
            }
        }
    }
}

/// Where a request leads (see ``EndpointTable/resolve(_:)``): a route to run,
/// with what decides where it runs, or the host's own answer.
public struct ResolvedRequest: @unchecked Sendable {
    // @unchecked Sendable: the route is immutable.
    let route: EndpointTable.Route?
    let answer: PluginHTTPResponse?

    /// The plugin whose endpoint serves the request; nil for the host's own answer.
    public var owner: PluginOwner? { route?.registration.owner }
    /// "METHOD /pattern" as the endpoint registered it (per-endpoint timeouts are keyed so).
    public var endpoint: String? { route?.endpointKey }
    /// The figures of the route that serves the request; nil for the host's own answer.
    public var metrics: RouteMetrics? { route?.metrics }
    /// No plugin code runs (404, 405, a 503 of the host's), or every plugin on the
    /// route declared `PH_PLUGIN_NEVER_BLOCKS`: the work may run on the calling thread.
    public var runsInline: Bool { route?.runsInline ?? true }
}
