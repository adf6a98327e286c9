public import CPluginABI
import Synchronization

extension PluginHost {
    /// The host's HTTP extension, or nil when the host serves no HTTP.
    public var http: HTTPRegistrar? {
        guard let table = raw.pointee.get_extension(raw, PH_EXT_HTTP) else { return nil }
        return HTTPRegistrar(host: self, api: table.assumingMemoryBound(to: ph_http_t.self))
    }
}

/// Registers endpoints and wrappers; use it inside ``Plugin/init(host:)``.
public struct HTTPRegistrar: @unchecked Sendable {
    // @unchecked Sendable: `api` is the host's static table.
    let host: PluginHost
    let api: UnsafePointer<ph_http_t>
    /// The host's C HTTP extension table (`const ph_http_t *`).
    public var raw: UnsafePointer<ph_http_t> { api }

    /// When a wrapper runs.
    public enum Phase: Sendable {
        /// Before parameters are parsed.
        case pre
        /// After parameters are parsed.
        case post
    }

    /// Registers a raw endpoint: `handler` reads the request and writes the response.
    ///
    /// ```swift
    /// // fragment: statements
    /// try http.endpoint("GET", "/hello/:name") { exchange in
    ///     guard let name = exchange.pathParameter("name"), !name.isEmpty else {
    ///         exchange.status = 400                    // a 4xx: set it, and return normally
    ///         exchange.setBody("name it\n")
    ///         return
    ///     }
    ///     exchange.setHeader("Content-Type", "text/plain; charset=utf-8")
    ///     exchange.setBody("Hello, \(name)!\n")
    /// }
    /// ```
    ///
    /// Throwing answers 500 with the error's description, whatever status was set. The
    /// status is 200 until you set it. `handler` runs on a host thread serving the request (the event loop with ``PluginInfo/neverBlocks``, else the host's blocking pool),
    /// under the plugin's lock unless ``PluginInfo/isThreadSafe``; for one that waits, see
    /// ``asyncEndpoint(_:_:_:)``.
    public func endpoint(_ method: String, _ path: String, _ handler: @escaping (HTTPExchange) throws -> Void) throws {
        try endpoint(method, path, mayDefer: false, handler)
    }

    /// Registers a raw endpoint, declaring PH_MAY_DEFER when `mayDefer` (async endpoints).
    func endpoint(_ method: String, _ path: String, mayDefer: Bool, _ handler: @escaping (HTTPExchange) throws -> Void) throws {
        let box = HTTPHandlerBox(api: api, handler)
        let status = method.withCString { cMethod in
            path.withCString { cPath in
                var endpoint = ph_endpoint_t(
                    struct_size: UInt32(MemoryLayout<ph_endpoint_t>.size), method: cMethod, path: cPath,
                    handler: { userData, request, error in
                        let box = Unmanaged<HTTPHandlerBox>.fromOpaque(userData!).takeUnretainedValue()
                        return box.run(request!, error)
                    },
                    user_data: Unmanaged.passUnretained(box).toOpaque(), flags: mayDefer ? UInt32(PH_MAY_DEFER) : 0)
                return registering { api.pointee.register_endpoint(host.raw, &endpoint, $0) }
            }
        }
        try check(status)
        host.retain(box)
    }

    /// Registers a wrapper around the endpoints `match` selects: `"*"` (all), a prefix such
    /// as `"/api/*"`, an exact pattern `"/calc/add/:a/:b"` (any method), or `"GET /path"`.
    /// `call` runs per request; continue the chain with ``HTTPExchange/callNext()`` (or
    /// ``HTTPExchange/continueChain()``), act before or after it, or answer without calling it.
    /// Throwing answers 500 with the error's description.
    ///
    /// `accepts`, when given, decides once per endpoint, whenever the host builds its endpoint
    /// table (at start and at each reload), whether to wrap an endpoint `match` selected: it
    /// sees the endpoint's ``EndpointInfo`` (method, pattern, owner, kind, typed parameters).
    ///
    /// ```swift
    /// // fragment: statements
    /// try http.wrapper("timing", accepts: { $0.kind == .typed }) { exchange in
    ///     let started = ContinuousClock.now
    ///     guard exchange.continueChain() != .deferred else { return }  // leave a deferred request alone
    ///     exchange.setHeader("X-Elapsed", "\(ContinuousClock.now - started)")
    /// }
    /// ```
    public func wrapper(_ name: String, phase: Phase = .pre, match: String = "*",
                        accepts: ((EndpointInfo) -> Bool)? = nil,
                        _ call: @escaping (HTTPExchange) throws -> Void) throws {
        try registerWrapper(name, phase: phase, match: match, mayDefer: false,
                            WrapperBox(api: api, accepts: accepts, prepare: nil) { exchange, _ in try call(exchange) })
    }

    /// Registers a wrapper with per-endpoint state: `prepare` computes it once for each endpoint
    /// the wrapper wraps (when the host builds its endpoint table, on its control thread), and
    /// `call` gets it with every request to that endpoint. Throwing from `prepare` disables
    /// that endpoint (it answers 503, and the host logs your message). `release`, when given,
    /// runs once the table that used the state is gone (after a reload, at shutdown); the SDK
    /// frees the state itself either way.
    ///
    /// ```swift
    /// // fragment: statements
    /// try http.wrapper("route-header", match: "/calc/*",
    ///                  accepts: { $0.method == "GET" },
    ///                  prepare: { endpoint in "\(endpoint.method) \(endpoint.path)" },
    ///                  release: { route in host.log(.debug, "released \(route)") }) { exchange, route in
    ///     exchange.setHeader("X-Route", route)
    ///     exchange.callNext()
    /// }
    /// ```
    public func wrapper<State>(_ name: String, phase: Phase = .pre, match: String = "*",
                               accepts: ((EndpointInfo) -> Bool)? = nil,
                               prepare: @escaping (EndpointInfo) throws -> State,
                               release: ((State) -> Void)? = nil,
                               _ call: @escaping (HTTPExchange, State) throws -> Void) throws {
        let box = WrapperBox(api: api, accepts: accepts, prepare: { info in
            Unmanaged.passRetained(WrapperState(try prepare(info), release: release)).toOpaque()
        }) { exchange, state in
            try call(exchange, Unmanaged<WrapperState<State>>.fromOpaque(state!).takeUnretainedValue().value)
        }
        try registerWrapper(name, phase: phase, match: match, mayDefer: false, box)
    }

    /// Registers a wrapper, declaring PH_MAY_DEFER when `mayDefer` (async wrappers).
    func wrapper(_ name: String, phase: Phase, match: String, mayDefer: Bool,
                 accepts: ((EndpointInfo) -> Bool)? = nil, _ call: @escaping (HTTPExchange) throws -> Void) throws {
        try registerWrapper(name, phase: phase, match: match, mayDefer: mayDefer,
                            WrapperBox(api: api, accepts: accepts, prepare: nil) { exchange, _ in try call(exchange) })
    }

    private func registerWrapper(_ name: String, phase: Phase, match: String, mayDefer: Bool, _ box: WrapperBox) throws {
        let status = name.withCString { cName in
            match.withCString { cMatch in
                var wrapper = ph_wrapper_t(
                    struct_size: UInt32(MemoryLayout<ph_wrapper_t>.size),
                    phase: UInt32(phase == .pre ? PH_WRAP_PRE : PH_WRAP_POST), name: cName, match: cMatch,
                    user_data: Unmanaged.passUnretained(box).toOpaque(),
                    accepts: box.accepts == nil ? nil : { userData, endpoint in
                        guard let endpoint else { return false }
                        return Unmanaged<WrapperBox>.fromOpaque(userData!).takeUnretainedValue().accepts!(EndpointInfo(endpoint))
                    },
                    prepare: box.prepare == nil ? nil : { userData, endpoint, state, message in
                        guard let endpoint, let state else { return PH_ERR_INVALID }
                        let box = Unmanaged<WrapperBox>.fromOpaque(userData!).takeUnretainedValue()
                        do {
                            state.pointee = try box.prepare!(EndpointInfo(endpoint))
                            return PH_OK
                        } catch {
                            MessageWriter.write("\(error)", to: message)
                            return PH_ERR_FAILED
                        }
                    },
                    call: { userData, state, request, error in
                        Unmanaged<WrapperBox>.fromOpaque(userData!).takeUnretainedValue().run(request!, state, error)
                    },
                    // The state box knows its type and its release: user_data is not needed.
                    release: box.prepare == nil ? nil : { _, state in
                        guard let state else { return }
                        Unmanaged<AnyWrapperState>.fromOpaque(state).takeRetainedValue().release()
                    },
                    flags: mayDefer ? UInt32(PH_MAY_DEFER) : 0)
                return registering { api.pointee.register_wrapper(host.raw, &wrapper, $0) }
            }
        }
        try check(status)
        host.retain(box)
    }

    /// Calls a registration function with a message buffer of the host's own size.
    func registering(_ body: (UnsafeMutablePointer<ph_message_t>) -> ph_status_t) -> (ph_status_t, String) {
        var buffer = [CChar](repeating: 0, count: MessageWriter.capacity + 1)
        let status = buffer.withUnsafeMutableBufferPointer { storage in
            var message = ph_message_t(data: storage.baseAddress, capacity: storage.count - 1)
            return body(&message)
        }
        return (status, buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    }

    func check(_ result: (ph_status_t, String)) throws {
        guard result.0 == PH_OK else { throw PluginFailure(result.1.isEmpty ? "registration failed with status \(result.0)" : result.1) }
    }
}

/// One request and its response, as a handler or wrapper sees it. Valid only during the call.
public struct HTTPExchange {
    let api: UnsafePointer<ph_http_t>
    let request: OpaquePointer
    /// The C request handle (`ph_http_request_t *`), for the `ph_http_t` functions through ``HTTPRegistrar/raw``.
    public var raw: OpaquePointer { request }
    /// The deferred request this exchange belongs to, for an async wrapper (see ``continueChain()``).
    var deferred: AsyncRequest?

    init(api: UnsafePointer<ph_http_t>, request: OpaquePointer, deferred: AsyncRequest? = nil) {
        self.api = api
        self.request = request
        self.deferred = deferred
    }

    /// "GET", "POST", …
    public var method: String { api.pointee.method(request).map { String(cString: $0) } ?? "" }
    /// The path, without the query.
    public var path: String { api.pointee.path(request).map { String(cString: $0) } ?? "" }
    /// A `:name` path capture, percent-decoded (invalid UTF-8 shows as U+FFFD; ``pathParameterBytes(_:)`` has the exact bytes).
    public func pathParameter(_ name: String) -> String? { pathParameterBytes(name).map { String(decoding: $0, as: UTF8.self) } }
    /// The first query parameter `name`, percent-decoded (invalid UTF-8 shows as U+FFFD; ``queryBytes(_:)`` has the exact bytes).
    public func query(_ name: String) -> String? { queryBytes(name).map { String(decoding: $0, as: UTF8.self) } }
    /// The request header `name` (case-insensitive).
    public func header(_ name: String) -> String? { bytes { api.pointee.header(request, name, &$0, &$1) }.map { String(decoding: $0, as: UTF8.self) } }
    /// The exact percent-decoded bytes of path capture `name` (an escaped NUL included).
    public func pathParameterBytes(_ name: String) -> [UInt8]? { bytes { api.pointee.path_param(request, name, &$0, &$1) } }
    /// The exact percent-decoded bytes of the first query parameter `name` (an escaped NUL included).
    public func queryBytes(_ name: String) -> [UInt8]? { bytes { api.pointee.query(request, name, &$0, &$1) } }

    /// The request body.
    public var body: [UInt8] {
        var data: UnsafeRawPointer?
        var length = 0
        guard api.pointee.body(request, &data, &length) == PH_OK, let data else { return [] }
        return Array(UnsafeRawBufferPointer(start: data, count: length))
    }

    /// The response status (200 until set).
    public var status: Int {
        get { Int(api.pointee.status(request)) }
        nonmutating set { _ = api.pointee.set_status(request, UInt32(clamping: newValue)) }
    }

    /// Sets a response header.
    public func setHeader(_ name: String, _ value: String) { _ = api.pointee.set_header(request, name, value) }

    /// Sets (replaces) a request header, for the steps after this one (wrappers inside, the
    /// endpoint, typed parameters read from headers).
    public func setRequestHeader(_ name: String, _ value: String) { _ = api.pointee.set_request_header(request, name, value) }

    /// The response body so far (a post-step of a wrapper reads what the endpoint answered).
    public var responseBody: [UInt8] {
        var data: UnsafeRawPointer?
        var length = 0
        guard api.pointee.response_body(request, &data, &length) == PH_OK, let data else { return [] }
        return Array(UnsafeRawBufferPointer(start: data, count: length))
    }

    /// Sets the response body.
    public func setBody(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { api.pointee.set_body(request, $0.baseAddress, $0.count) } }

    /// Sets the response body to UTF-8 text.
    public func setBody(_ text: String) { setBody(Array(text.utf8)) }

    /// Runs the rest of the chain (wrappers only): true when it ran; false when a step failed
    /// (its error is already in the response) and also when a step inside deferred the request
    /// (an async endpoint or wrapper): then leave the exchange alone, that step finishes it.
    /// ``continueChain()`` tells the two apart.
    @discardableResult
    public func callNext() -> Bool { api.pointee.call_next(request) == PH_OK }

    /// What the rest of the chain did (``continueChain()``).
    public enum ChainResult: Sendable {
        /// It ran; the response is in place.
        case done
        /// A step failed; its error is already in the response.
        case failed
        /// A step inside deferred the request: it finishes it, not this wrapper
        /// (whose response changes after this would be lost).
        case deferred
    }

    /// Runs the rest of the chain and says how it went: from a wrapper's call, or from an async
    /// wrapper (``HTTPRegistrar/asyncWrapper(_:phase:match:accepts:_:)``) on the task's thread.
    /// After ``ChainResult/deferred`` do not touch the exchange any more.
    @discardableResult
    public func continueChain() -> ChainResult {
        switch api.pointee.call_next(request) {
        case PH_OK: return .done
        case PH_PENDING:
            deferred?.innerDeferred.store(true, ordering: .releasing)
            return .deferred
        default: return .failed
        }
    }

    /// The string request property `key` (e.g. "user", set by an auth wrapper); nil when it is
    /// unset or of another type (``propertyValue(_:)`` reads every type).
    public func property(_ key: String) -> String? {
        guard case .string(let text)? = propertyValue(key) else { return nil }
        return text
    }

    /// Sets the string request property `key`, for the steps after this one (wrappers inside,
    /// the endpoint, typed parameters with source ``ParameterSource/property``). Ignores a
    /// failure; ``setProperty(_:_:)-(_,TypedValue)`` reports it.
    public func setProperty(_ key: String, _ value: String) {
        try? setProperty(key, .string(value))
    }

    /// The request property `key`, of any type; nil when it is unset.
    ///
    /// An `int32` property arrives from the host in 8 bytes and is handed to you as
    /// ``TypedValue/int32(_:)``; a `string` one that was set with bytes that are not UTF-8
    /// reads back with U+FFFD in their place.
    public func propertyValue(_ key: String) -> TypedValue? {
        typedValue { api.pointee.get_property(request, key, &$0, &$1, &$2) }
    }

    /// The request property `key` as `type`, or nil when it is unset or does not convert
    /// (see ``TypedValueConvertible/init(_:)``).
    ///
    /// ```swift
    /// // fragment: statements
    /// let attempts = exchange.property("attempts", as: Int32.self) ?? 0
    /// ```
    public func property<Value: TypedValueConvertible>(_ key: String, as type: Value.Type) -> Value? {
        propertyValue(key).flatMap { Value($0) }
    }

    /// Sets the request property `key` to a typed value (copied), for the steps after this one.
    ///
    /// ```swift
    /// // fragment: statements
    /// try exchange.setProperty("user", .string("alice"))
    /// try exchange.setProperty("user.id", .int64(42))
    /// try exchange.setProperty("user.admin", .bool(false))
    /// ```
    /// - Throws: ``HostError`` from `set_property` (``HostError/invalid`` should never happen:
    ///   the SDK encodes every type as the host wants it, an `int32` in 8 bytes).
    public func setProperty(_ key: String, _ value: TypedValue) throws {
        let status = value.withEncoding { type, bytes in
            api.pointee.set_property(request, key, type, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1), bytes.count)
        }
        if status != PH_OK { throw HostError(code: status) }
    }

    /// A typed endpoint's parameter, as the host parsed it; for post-wrappers (``HTTPRegistrar/Phase/post``)
    /// and the endpoint. Nil in a pre-wrapper (parsing comes after it), for a raw endpoint, or
    /// for an unknown name.
    public func parameter(_ name: String) -> TypedValue? {
        typedValue { api.pointee.param(request, name, &$0, &$1, &$2) }
    }

    /// A typed endpoint's parameter as `type` (see ``parameter(_:)``).
    public func parameter<Value: TypedValueConvertible>(_ name: String, as type: Value.Type) -> Value? {
        parameter(name).flatMap { Value($0) }
    }

    private func typedValue(_ read: (inout ph_type_t, inout UnsafeRawPointer?, inout Int) -> ph_status_t) -> TypedValue? {
        var type: ph_type_t = 0
        var value: UnsafeRawPointer?
        var length = 0
        guard read(&type, &value, &length) == PH_OK else { return nil }
        return TypedValue(type: type, bytes: UnsafeRawBufferPointer(start: length == 0 ? nil : value, count: length))
    }

    /// The bytes an accessor hands over: exactly `length` of them (they may hold a NUL).
    private func bytes(_ read: (inout UnsafePointer<CChar>?, inout Int) -> ph_status_t) -> [UInt8]? {
        var value: UnsafePointer<CChar>?
        var length = 0
        guard read(&value, &length) == PH_OK, let value else { return nil }
        return Array(UnsafeRawBufferPointer(start: value, count: length))
    }
}

/// A Swift handler or wrapper the host calls back through.
final class HTTPHandlerBox {
    let api: UnsafePointer<ph_http_t>
    let handler: (HTTPExchange) throws -> Void

    init(api: UnsafePointer<ph_http_t>, _ handler: @escaping (HTTPExchange) throws -> Void) {
        self.api = api
        self.handler = handler
    }

    func run(_ request: OpaquePointer, _ message: UnsafeMutablePointer<ph_message_t>?) -> ph_status_t {
        do {
            try handler(HTTPExchange(api: api, request: request))
            return PH_OK
        } catch is DeferredSignal {
            // An async endpoint's task took the request over (see asyncEndpoint).
            return PH_PENDING
        } catch {
            MessageWriter.write("\(error)", to: message)
            return PH_ERR_FAILED
        }
    }
}

/// A wrapper the host calls back through: its optional `accepts` and `prepare`, and `call`.
final class WrapperBox {
    let api: UnsafePointer<ph_http_t>
    let accepts: ((EndpointInfo) -> Bool)?
    /// Makes a retained ``WrapperState`` for one endpoint.
    let prepare: ((EndpointInfo) throws -> UnsafeMutableRawPointer)?
    let call: (HTTPExchange, UnsafeMutableRawPointer?) throws -> Void

    init(api: UnsafePointer<ph_http_t>, accepts: ((EndpointInfo) -> Bool)?,
         prepare: ((EndpointInfo) throws -> UnsafeMutableRawPointer)?,
         _ call: @escaping (HTTPExchange, UnsafeMutableRawPointer?) throws -> Void) {
        self.api = api
        self.accepts = accepts
        self.prepare = prepare
        self.call = call
    }

    func run(_ request: OpaquePointer, _ state: UnsafeMutableRawPointer?, _ message: UnsafeMutablePointer<ph_message_t>?) -> ph_status_t {
        do {
            try call(HTTPExchange(api: api, request: request), state)
            return PH_OK
        } catch is DeferredSignal {
            // An async wrapper's task took the request over (see asyncWrapper).
            return PH_PENDING
        } catch {
            MessageWriter.write("\(error)", to: message)
            return PH_ERR_FAILED
        }
    }
}

/// The state a wrapper's `prepare` made for one endpoint, type-erased for `release`.
class AnyWrapperState {
    func release() {}
}

final class WrapperState<State>: AnyWrapperState {
    let value: State
    let onRelease: ((State) -> Void)?
    init(_ value: State, release: ((State) -> Void)?) {
        self.value = value
        self.onRelease = release
    }
    override func release() { onRelease?(value) }
}

/// What a wrapper learns about an endpoint in `accepts` and `prepare` (`ph_endpoint_info_t`).
public struct EndpointInfo: Sendable, Hashable {
    /// Raw or typed.
    public enum Kind: Sendable, Hashable {
        /// A handler that reads the request and writes the response (async ones included).
        case raw
        /// A typed endpoint: parameters parsed by the host, result encoded as JSON
        /// (Codable endpoints included).
        case typed
    }

    /// One parameter of a typed endpoint.
    public struct Parameter: Sendable, Hashable {
        /// The path capture, query key, header, or property key.
        public var name: String
        /// Where its value comes from.
        public var source: ParameterSource
        /// Its type.
        public var kind: ValueKind
        /// Describes a parameter.
        public init(name: String, source: ParameterSource, kind: ValueKind) {
            self.name = name
            self.source = source
            self.kind = kind
        }
    }

    /// Raw or typed.
    public var kind: Kind
    /// "GET", "POST", …
    public var method: String
    /// The path pattern as registered, e.g. `/calc/add/:a/:b`.
    public var path: String
    /// The alias of the plugin that registered it.
    public var owner: String
    /// A typed endpoint's parameters, in order; empty for a raw one.
    public var parameters: [Parameter]
    /// A typed endpoint's result type; nil for a raw one.
    public var result: ValueKind?

    /// Describes an endpoint.
    public init(kind: Kind, method: String, path: String, owner: String, parameters: [Parameter] = [], result: ValueKind? = nil) {
        self.kind = kind
        self.method = method
        self.path = path
        self.owner = owner
        self.parameters = parameters
        self.result = result
    }

    init(_ raw: UnsafePointer<ph_endpoint_info_t>) {
        let info = raw.pointee
        let typed = info.kind == UInt32(PH_ENDPOINT_TYPED)
        var parameters: [Parameter] = []
        if typed, let list = info.params {
            for index in 0..<info.param_count {
                let param = list[index]
                parameters.append(Parameter(name: param.name.map { String(cString: $0) } ?? "",
                                            source: ParameterSource(param.source) ?? .path, kind: ValueKind(param.type) ?? .void))
            }
        }
        self.init(kind: typed ? .typed : .raw,
                  method: info.method.map { String(cString: $0) } ?? "",
                  path: info.path.map { String(cString: $0) } ?? "",
                  owner: info.owner.map { String(cString: $0) } ?? "",
                  parameters: parameters,
                  result: typed ? ValueKind(info.result) : nil)
    }
}
