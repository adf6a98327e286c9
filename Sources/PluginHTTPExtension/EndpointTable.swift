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

    /// One served method and path.
    final class Route: @unchecked Sendable {
        // @unchecked Sendable: immutable after init.
        enum Step {
            case wrapper(WrapperStep)
            case parse
            case endpoint
        }

        /// One wrapper around this route: what its C chain step is built from. Holding the
        /// registration keeps the owner's PluginLock, whose mutex the C step points at, alive.
        final class WrapperStep: @unchecked Sendable {
            // @unchecked Sendable: immutable after init.
            let registration: WrapperRegistration
            let call: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, OpaquePointer?, UnsafeMutablePointer<ph_message_t>?) -> ph_status_t
            let userData: UnsafeMutableRawPointer?
            let state: UnsafeMutableRawPointer?
            let lock: PluginLock?

            init(_ registration: WrapperRegistration, state: UnsafeMutableRawPointer?) {
                self.registration = registration
                self.call = registration.raw.call!
                self.userData = registration.raw.user_data
                self.state = state
                self.lock = registration.owner.lock
            }
        }

        /// Where a typed parameter's bytes come from, resolved when the table is frozen.
        enum ParameterSource {
            case capture(Int)
            case query([UInt8])
            case header([UInt8])
            case body
            case plugin
        }

        let registration: EndpointRegistration
        let steps: [Step]
        /// Which non-empty path segments the pattern captures, in capture order.
        let capturePositions: [Int]
        /// The capture names' UTF-8, in capture order.
        let captureNames: [[UInt8]]
        /// Each typed parameter with its source, in signature order (empty for a raw endpoint).
        let typedInputs: [(parameter: TypedParameter, source: ParameterSource)]
        /// A typed parameter read from a path segment: the segment's position and the type.
        struct PathInput {
            let position: Int
            let type: ph_type_t
        }
        /// The typed parameters when every one comes from the path (nil otherwise).
        let pathOnlyInputs: [PathInput]?
        /// The typed endpoint's invoker (nil for a raw endpoint), kept here so a request
        /// reads it without unpacking the registration.
        let typedInvoker: TypedInvoker?
        /// The same steps as the C chain walk reads them (see ChainSteps).
        let chain: ChainSteps
        /// Why the route answers 503 instead (a wrapper's prepare failed).
        let disabled: String?
        /// The quarantined plugin whose wrapper guarded this route: it answers 503 naming it.
        let fence: HTTPFence?
        /// "METHOD /pattern" as registered (per-endpoint timeouts are keyed so).
        let endpointKey: String
        /// Every plugin on the route declared it never blocks: its work may run inline.
        let runsInline: Bool
        /// A step may answer PH_PENDING: the chain request lives on the heap (see ChainWalk).
        let mayDefer: Bool
        /// Its requests, latencies and wrapper short-circuits, through swift-metrics.
        let metrics: RouteMetrics

        init(registration: EndpointRegistration, steps: [Step], disabled: String?, fence: HTTPFence? = nil) {
            self.registration = registration
            self.steps = steps
            self.chain = ChainSteps(steps)
            self.disabled = disabled
            self.fence = fence
            endpointKey = "\(registration.method) \(registration.pattern)"
            runsInline = registration.owner.build.neverBlocks && steps.allSatisfy {
                if case .wrapper(let step) = $0 { step.registration.owner.build.neverBlocks } else { true }
            }
            // Only a step that declared PH_MAY_DEFER may answer PH_PENDING.
            mayDefer = registration.mayDefer || steps.contains {
                if case .wrapper(let step) = $0 { step.registration.mayDefer } else { false }
            }
            metrics = RouteMetrics(alias: registration.owner.alias, endpoint: endpointKey, wrappers: steps.enumerated().compactMap { index, step in
                if case .wrapper(let wrapper) = step { (index, wrapper.registration.owner.alias, wrapper.registration.name) } else { nil }
            })
            let segments = registration.pattern.segments
            capturePositions = segments.indices.filter { if case .capture = segments[$0] { true } else { false } }
            captureNames = registration.pattern.captureNames.map { Array($0.utf8) }
            if case .typed(let invoker, let parameters) = registration.kind {
                let names = registration.pattern.captureNames
                typedInvoker = invoker
                typedInputs = parameters.map { parameter in
                    switch parameter.source {
                    case ph_source_t(PH_SOURCE_PATH): (parameter, .capture(names.firstIndex(of: parameter.name) ?? -1))
                    case ph_source_t(PH_SOURCE_QUERY): (parameter, .query(Array(parameter.name.utf8)))
                    case ph_source_t(PH_SOURCE_HEADER): (parameter, .header(Array(parameter.name.utf8)))
                    case ph_source_t(PH_SOURCE_BODY): (parameter, .body)
                    default: (parameter, .plugin)
                    }
                }
            } else {
                typedInvoker = nil
                typedInputs = []
            }
            let positions = capturePositions
            let pathInputs = typedInputs.compactMap { input -> PathInput? in
                guard case .capture(let index) = input.source, positions.indices.contains(index) else { return nil }
                return PathInput(position: positions[index], type: input.parameter.type)
            }
            pathOnlyInputs = typedInvoker != nil && pathInputs.count == typedInputs.count ? pathInputs : nil
        }

        var wrapperNames: [String] {
            steps.compactMap { if case .wrapper(let step) = $0 { "\(step.registration.owner.alias)/\(step.registration.name)" } else { nil } }
        }

        /// The `.parse` step, called from the C chain walk: parses the typed parameters (none for a raw endpoint).
        func parseStep(_ context: RequestContext) -> ph_status_t {
            if typedInvoker != nil {
                guard let values = parseTyped(context) else { return PH_ERR_INVALID }
                context.parameters = values
            } else {
                context.parameters = []
            }
            return PH_OK
        }

        /// The headers of a typed endpoint's answer when no wrapper set any.
        private static let jsonContentType = [("Content-Type", "application/json")]

        /// The `.endpoint` step, called from the C chain walk; `handle` is the request plugins see.
        func endpointStep(_ context: RequestContext, handle: OpaquePointer) -> ph_status_t {
            let owner = registration.owner
            switch registration.kind {
            case .raw(let handler, let userData):
                let (status, message) = CallRecord.untimed(.endpoint, owner.build.record) {
                    owner.lock.withLock { MessageBuffer.with { handler(userData, handle, $0) } }
                }
                if status != PH_OK && status != PH_PENDING {
                    pluginFailed(context, owner, what: "endpoint", status: status, message: message)
                }
                return status
            case .typed(let invoker, _):
                let result = CallRecord.untimed(.endpoint, owner.build.record) { owner.lock.withLock { invoker.invoke(context.parameters!) } }
                context.status = 200
                if context.responseHeaders.isEmpty {
                    context.responseHeaders = Self.jsonContentType  // shared storage: no allocation
                } else {
                    context.setResponseHeader("Content-Type", "application/json")
                }
                context.responseBody = result.jsonBytes
                return PH_OK
            }
        }

        /// Wrapper step `index` returned `status` (not PH_OK) with `message`, called from the C chain
        /// walk as soon as the wrapper returns, so the wrappers around it see the 500.
        ///
        /// A failure is reported unless the wrapper only passed on an error already answered:
        /// no message of its own and a response status that is already an error.
        func wrapperFailed(_ context: RequestContext, step index: Int, status: ph_status_t, message: String) {
            guard case .wrapper(let step) = steps[index], !message.isEmpty || context.status < 400 else { return }
            let wrapper = step.registration
            pluginFailed(context, wrapper.owner, what: "wrapper '\(wrapper.name)'", status: status, message: message)
        }

        private func pluginFailed(_ context: RequestContext, _ owner: PluginOwner, what: String, status: ph_status_t, message: String) {
            let alias = owner.alias
            owner.countError()
            let text = message.isEmpty ? "status \(status)" : message
            registration.owner.logger.error("\(registration.method) \(context.path): \(what) of '\(alias)' failed: \(text)")
            context.fail(status: 500, HostErrorBody("plugin failed", ["plugin": .text(alias), "message": .text(text)]))
        }

        /// Parses every typed parameter from the request's bytes; on the first bad one
        /// answers 400 (or 500 for a missing plugin value).
        private func parseTyped(_ context: RequestContext) -> [TypedValue]? {
            if let pathOnly = pathOnlyInputs, let values = parsePathOnly(pathOnly, context) { return values }
            var values: [TypedValue] = []
            values.reserveCapacity(typedInputs.count)
            for (parameter, source) in typedInputs {
                let parsed: Result<TypedValue, TypedValue.ParseError>?
                switch source {
                case .capture(let index):
                    parsed = context.withCapture(index) { TypedValue.parse($0, as: parameter.type) }
                case .query(let name):
                    parsed = name.withUnsafeBufferPointer { context.query(named: $0) }.map { TypedValue.parse($0.buffer, as: parameter.type) }
                case .header(let name):
                    parsed = name.withUnsafeBufferPointer { context.header(named: $0) }.map { value in
                        var value = value
                        return value.withUTF8 { TypedValue.parse($0, as: parameter.type) }
                    }
                case .body:
                    let numeric = parameter.type != ph_type_t(PH_TYPE_STRING) && parameter.type != ph_type_t(PH_TYPE_BYTES)
                    parsed = numeric && context.body.isEmpty ? nil : context.body.withUnsafeBufferPointer { TypedValue.parse($0, as: parameter.type) }
                case .plugin:
                    guard let value = context.properties[parameter.name], let converted = Self.convert(value, to: parameter.type) else {
                        registration.owner.logger.error("\(registration.method) \(registration.pattern): no wrapper provided parameter '\(parameter.name)'")
                        context.fail(status: 500, HostErrorBody("missing plugin-provided parameter", ["parameter": .text(parameter.name)]))
                        return nil
                    }
                    // A C string argument ends at its first NUL: refuse rather than pass a shorter value.
                    if case .string(let text) = converted, text.utf8.contains(0) {
                        registration.owner.logger.error("\(registration.method) \(registration.pattern): plugin-provided parameter '\(parameter.name)' holds a NUL byte")
                        context.fail(status: 500, HostErrorBody("invalid plugin-provided parameter",
                                                                ["parameter": .text(parameter.name), "reason": "a string argument cannot hold a NUL byte"]))
                        return nil
                    }
                    values.append(converted)
                    continue
                }
                switch parsed {
                case .success(let value)?:
                    values.append(value)
                case .failure(let problem)?:
                    context.fail(status: 400, Self.parameterError(parameter, reason: problem.reason))
                    return nil
                case nil:
                    context.fail(status: 400, Self.parameterError(parameter, reason: "missing \(Self.sourceName(parameter)) parameter '\(parameter.name)'"))
                    return nil
                }
            }
            return values
        }

        /// The common case of parameters that all come from the path: one pass over the
        /// path's segments, parsed in place, no reference counting per parameter.
        /// Nil when a segment needs decoding or a value does not parse: the general
        /// path then does it again and reports the error.
        private func parsePathOnly(_ inputs: [PathInput], _ context: RequestContext) -> [TypedValue]? {
            context.withPathBytes { bytes in
                var values: [TypedValue] = []
                values.reserveCapacity(inputs.count)
                for input in inputs {
                    guard let range = PathSegments.segment(input.position, of: bytes) else { return nil }
                    let segment = UnsafeBufferPointer(rebasing: bytes[range])
                    guard !segment.contains(UInt8(ascii: "%")),
                          case .success(let value) = TypedValue.parse(segment, as: input.type) else { return nil }
                    values.append(value)
                }
                return values
            }
        }

        private static func sourceName(_ parameter: TypedParameter) -> String {
            switch parameter.source {
            case ph_source_t(PH_SOURCE_PATH): "path"
            case ph_source_t(PH_SOURCE_QUERY): "query"
            case ph_source_t(PH_SOURCE_HEADER): "header"
            case ph_source_t(PH_SOURCE_BODY): "body"
            default: "plugin"
            }
        }

        private static func parameterError(_ parameter: TypedParameter, reason: String) -> HostErrorBody {
            HostErrorBody("invalid parameter", ["parameter": .text(parameter.name), "source": .text(sourceName(parameter)),
                                                "expected": .text(TypedValue.name(of: parameter.type)), "reason": .text(reason)])
        }

        private static func convert(_ value: TypedValue, to type: ph_type_t) -> TypedValue? {
            if value.type == type { return value }
            switch (value, type) {
            case (.int64(let number), ph_type_t(PH_TYPE_INT32)): return Int32(exactly: number).map { .int32($0) }
            case (.int64(let number), ph_type_t(PH_TYPE_UINT64)): return UInt64(exactly: number).map { .uint64($0) }
            case (.string(let text), ph_type_t(PH_TYPE_BYTES)): return .bytes(Array(text.utf8))
            default: return nil
            }
        }
    }

    /// What a request's method and path lead to, with the captures decoded (for tests and tools;
    /// requests decode captures lazily, see RequestContext).
    enum Lookup {
        case found(Route, captures: [(String, [UInt8])])
        case methodNotAllowed([String])
        case notFound
    }

    private let routes: [Route]
    private let router: Router<Route>
    private let wrappers: [WrapperRegistration]
    /// Endpoints of quarantined plugins that no running plugin serves: they answer 503.
    private let fencedRouter: Router<HTTPFence>
    private let fencedListing: [EndpointListing]
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

    private static func route(for registration: EndpointRegistration, wrappers: [WrapperRegistration], fence: HTTPFence?,
                              warnings: inout [PluginError], guards: inout [String: [String]]) -> Route {
        var pre: [Route.Step] = []
        var post: [Route.Step] = []
        var disabled: String?
        let endpoint = "\(registration.method) \(registration.pattern)"
        EndpointInfo.with(registration) { info in
            for wrapper in wrappers where wrapper.match.matches(method: registration.method, pattern: registration.pattern) {
                let raw = wrapper.raw
                let accepted = wrapper.owner.withLock(.accepts) { raw.accepts.map { $0(raw.user_data, info) } ?? true }
                guards[wrapper.owner.alias, default: []].append((accepted ? "http.wrapped " : "http.declined ") + endpoint)
                guard accepted else { continue }
                var state: UnsafeMutableRawPointer?
                if let prepare = raw.prepare {
                    let (status, message) = wrapper.owner.withLock(.prepare) { MessageBuffer.with { prepare(raw.user_data, info, &state, $0) } }
                    guard status == PH_OK else {
                        let reason = "wrapper '\(wrapper.name)' could not prepare \(registration.method) \(registration.pattern): \(message.isEmpty ? "status \(status)" : message)"
                        wrapper.owner.logger.error("\(reason); the endpoint answers 503")
                        warnings.append(PluginError(.wrapperFailed, file: wrapper.owner.libraryPath, alias: wrapper.owner.alias, reason: reason))
                        disabled = disabled ?? reason
                        continue
                    }
                }
                let step = Route.Step.wrapper(Route.WrapperStep(wrapper, state: state))
                if wrapper.isPre { pre.append(step) } else { post.append(step) }
            }
        }
        return Route(registration: registration, steps: pre + [.parse] + post + [.endpoint], disabled: disabled, fence: fence)
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

    /// The host's own answer for a request `match` leads to no serving route.
    private func answer(_ request: PluginHTTPRequest, _ match: Router<Route>.Match) -> PluginHTTPResponse {
        switch match {
        case .notFound:
            if case .found(let fence) = fencedRouter.match(method: request.method, path: request.path) { return fence.response }
            return .hostError(404, "not found", ["method": .text(request.method), "path": .text(request.path)])
        case .methodNotAllowed(let allowed):
            if case .found(let fence) = fencedRouter.match(method: request.method, path: request.path) { return fence.response }
            var response = PluginHTTPResponse.hostError(405, "method not allowed", ["allowed": .texts(allowed)])
            response.headers.append(("Allow", allowed.joined(separator: ", ")))
            return response
        case .found(let route):
            // Only a fenced or disabled route gets here (see resolve).
            if let fence = route.fence { return fence.response }
            return .hostError(503, "endpoint unavailable", ["reason": .text(route.disabled ?? "")])
        }
    }

    /// Every route, for the admin listing.
    public var listing: [EndpointListing] {
        routes.map { route in
            let kind: String
            switch route.registration.kind {
            case .raw: kind = "raw"
            case .typed: kind = "typed"
            }
            return EndpointListing(
                alias: route.registration.owner.alias, method: route.registration.method,
                path: route.registration.pattern.description, kind: kind, wrappers: route.wrapperNames,
                unavailable: route.fence.map { "wrapped by quarantined plugin '\($0.alias)'" } ?? route.disabled)
        } + fencedListing
    }

    /// Registered wrappers by alias, as "name (pre|post, match)", for the admin listing.
    public var wrapperListing: [String: [String]] {
        var byAlias: [String: [String]] = [:]
        for wrapper in wrappers {
            byAlias[wrapper.owner.alias, default: []].append("\(wrapper.name) (\(wrapper.isPre ? "pre" : "post"), \(wrapper.match))")
        }
        return byAlias
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

/// One served endpoint, as the admin listing shows it.
public struct EndpointListing: Sendable {
    /// The alias of the plugin that serves it.
    public var alias: String
    /// "GET", …
    public var method: String
    /// The path pattern.
    public var path: String
    /// "raw" or "typed".
    public var kind: String
    /// Wrappers around it, outermost first, as "alias/name".
    public var wrappers: [String]
    /// Why it answers 503, if it does.
    public var unavailable: String?
}

/// Builds the `ph_endpoint_info_t` wrappers see, with C strings that live for one call.
enum EndpointInfo {
    static func with(_ registration: EndpointRegistration, _ body: (UnsafePointer<ph_endpoint_info_t>) -> Void) {
        var strings: [UnsafeMutablePointer<CChar>] = []
        func c(_ text: String) -> UnsafePointer<CChar> {
            let copy = strdup(text)!
            strings.append(copy)
            return UnsafePointer(copy)
        }
        defer { strings.forEach { free($0) } }
        var params: [ph_param_t] = []
        var kind = UInt32(PH_ENDPOINT_RAW)
        var result = ph_type_t(PH_TYPE_VOID)
        if case .typed(let invoker, let parameters) = registration.kind {
            kind = UInt32(PH_ENDPOINT_TYPED)
            result = invoker.result
            params = parameters.map { ph_param_t(name: c($0.name), source: $0.source, type: $0.type) }
        }
        params.withUnsafeBufferPointer { buffer in
            var info = ph_endpoint_info_t(
                struct_size: UInt32(MemoryLayout<ph_endpoint_info_t>.size), kind: kind,
                method: c(registration.method), path: c(registration.pattern.description), owner: c(registration.owner.alias),
                params: buffer.isEmpty ? nil : buffer.baseAddress, param_count: buffer.count, result: result)
            body(&info)
        }
    }
}
