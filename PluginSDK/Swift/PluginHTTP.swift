import CPluginABI
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

    /// When a wrapper runs.
    public enum Phase: Sendable {
        /// Before parameters are parsed.
        case pre
        /// After parameters are parsed.
        case post
    }

    /// Registers a raw endpoint: `handler` reads the request and writes the
    /// response; throwing answers 500 with the error's description.
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

    /// Registers a wrapper around the endpoints `match` selects ("*", "/api/" + "*",
    /// "/path" or "GET /path"). `call` runs per request; continue the chain with
    /// ``HTTPExchange/callNext()``.
    public func wrapper(_ name: String, phase: Phase = .pre, match: String = "*", _ call: @escaping (HTTPExchange) throws -> Void) throws {
        try wrapper(name, phase: phase, match: match, mayDefer: false, call)
    }

    /// Registers a wrapper, declaring PH_MAY_DEFER when `mayDefer` (async wrappers).
    func wrapper(_ name: String, phase: Phase, match: String, mayDefer: Bool, _ call: @escaping (HTTPExchange) throws -> Void) throws {
        let box = HTTPHandlerBox(api: api, call)
        let status = name.withCString { cName in
            match.withCString { cMatch in
                var wrapper = ph_wrapper_t(
                    struct_size: UInt32(MemoryLayout<ph_wrapper_t>.size),
                    phase: UInt32(phase == .pre ? PH_WRAP_PRE : PH_WRAP_POST), name: cName, match: cMatch,
                    user_data: Unmanaged.passUnretained(box).toOpaque(), accepts: nil, prepare: nil,
                    call: { userData, _, request, error in
                        Unmanaged<HTTPHandlerBox>.fromOpaque(userData!).takeUnretainedValue().run(request!, error)
                    },
                    release: nil, flags: mayDefer ? UInt32(PH_MAY_DEFER) : 0)
                return registering { api.pointee.register_wrapper(host.raw, &wrapper, $0) }
            }
        }
        try check(status)
        host.retain(box)
    }

    private func registering(_ body: (UnsafeMutablePointer<ph_message_t>) -> ph_status_t) -> (ph_status_t, String) {
        var buffer = [CChar](repeating: 0, count: 512)
        let status = buffer.withUnsafeMutableBufferPointer { storage in
            var message = ph_message_t(data: storage.baseAddress, capacity: storage.count)
            return body(&message)
        }
        return (status, buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    }

    private func check(_ result: (ph_status_t, String)) throws {
        guard result.0 == PH_OK else { throw PluginFailure(result.1.isEmpty ? "registration failed with status \(result.0)" : result.1) }
    }
}

/// One request and its response, as a handler or wrapper sees it. Valid only during the call.
public struct HTTPExchange {
    let api: UnsafePointer<ph_http_t>
    let request: OpaquePointer
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

    /// Sets the response body.
    public func setBody(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { api.pointee.set_body(request, $0.baseAddress, $0.count) } }

    /// Sets the response body to UTF-8 text.
    public func setBody(_ text: String) { setBody(Array(text.utf8)) }

    /// Runs the rest of the chain (wrappers only); false if it failed.
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

    /// Runs the rest of the chain from an async wrapper (``HTTPRegistrar/asyncWrapper(_:phase:match:_:)``),
    /// on the task's thread, and says how it went.
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

    /// The string request property `key` (e.g. "user", set by an auth wrapper).
    public func property(_ key: String) -> String? {
        var type: ph_type_t = 0
        var value: UnsafeRawPointer?
        var length = 0
        guard api.pointee.get_property(request, key, &type, &value, &length) == PH_OK,
              type == ph_type_t(PH_TYPE_STRING), let value else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: value, count: length), as: UTF8.self)
    }

    /// Sets the string request property `key`.
    public func setProperty(_ key: String, _ value: String) {
        _ = Array(value.utf8).withUnsafeBytes { api.pointee.set_property(request, key, ph_type_t(PH_TYPE_STRING), $0.baseAddress, $0.count) }
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
