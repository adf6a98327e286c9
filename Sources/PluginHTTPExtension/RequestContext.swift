#if canImport(Glibc)
import Glibc
#endif
public import CPluginABI
public import PluginRuntime

/// One HTTP exchange as plugins see it through `ph_http_request_t`: the
/// request, the response being built, request properties and parsed
/// parameters. (The position in the wrapper chain is the C walk's.)
///
/// Used by one request at a time, on the thread serving it.
final class RequestContext {
    // Request
    let method: String
    let path: String
    private let rawQuery: String
    /// The query parameters, parsed on first use: exact percent-decoded bytes
    /// (an embedded NUL or invalid UTF-8 stays as it was sent).
    lazy var query: [(name: [UInt8], value: [UInt8])] = PluginHTTPRequest.parseQuery(rawQuery)
    var headers: [(String, String)]
    let body: [UInt8]
    /// Path captures by name: exact percent-decoded bytes.
    var captures: [(String, [UInt8])] = []

    // Response
    var status: UInt32 = 200
    var responseHeaders: [(String, String)] = []
    var responseBody: [UInt8] = []

    // Chain state
    var properties: [String: TypedValue] = [:]
    /// Parsed typed parameters, in signature order; nil before parsing.
    var parameters: [TypedValue]?
    /// The route being served. unowned(unsafe): its endpoint table, held by the generation
    /// serving this request, outlives the request; this saves reference counting per step.
    unowned(unsafe) let route: EndpointTable.Route

    /// C memory handed out by accessors; freed when the request ends.
    private var retained: [UnsafeMutableRawPointer] = []

    init(request: PluginHTTPRequest, route: EndpointTable.Route, captures: [(String, [UInt8])]) {
        self.method = request.method
        self.path = request.path
        self.rawQuery = request.query
        self.headers = request.headers
        self.body = request.body
        self.route = route
        self.captures = captures
    }

    deinit { retained.forEach { free($0) } }

    /// The context behind the opaque handle plugins receive.
    ///
    /// The handle is the request's `ph_chain_request_t` (see ChainWalk.run), whose first
    /// field is this context, unretained: one load finds it.
    static func from(_ handle: OpaquePointer) -> RequestContext {
        Unmanaged<RequestContext>.fromOpaque(UnsafeRawPointer(handle).load(as: UnsafeRawPointer.self)).takeUnretainedValue()
    }

    /// A C copy of exactly `bytes` plus a terminating NUL, valid until the request ends,
    /// and the number of bytes before that NUL: the length always describes
    /// exactly the bytes given, even when they hold a NUL themselves.
    func cString(_ bytes: some Collection<UInt8>) -> (UnsafePointer<CChar>, Int) {
        let count = bytes.count
        let copy = malloc(count + 1)!.bindMemory(to: UInt8.self, capacity: count + 1)
        _ = UnsafeMutableBufferPointer(start: copy, count: count).initialize(from: bytes)
        copy[count] = 0
        retained.append(UnsafeMutableRawPointer(copy))
        return (UnsafeRawPointer(copy).assumingMemoryBound(to: CChar.self), count)
    }

    /// A C copy of `text`'s UTF-8 bytes (see ``cString(_:)-(some Collection<UInt8>)``).
    func cString(_ text: String) -> (UnsafePointer<CChar>, Int) {
        cString(text.utf8)
    }

    /// A C copy of `bytes`, valid until the request ends.
    func cBytes(_ bytes: [UInt8]) -> UnsafeRawPointer {
        let copy = malloc(max(bytes.count, 1))!
        bytes.withUnsafeBytes { if let base = $0.baseAddress { copy.copyMemory(from: base, byteCount: $0.count) } }
        retained.append(copy)
        return UnsafeRawPointer(copy)
    }

    /// The value of request header `name`, case-insensitively.
    func header(_ name: String) -> String? {
        headers.first { Self.sameFieldName($0.0, name) }?.1
    }

    /// Sets (replaces) request header `name`, for the rest of the chain.
    func setRequestHeader(_ name: String, _ value: String) {
        headers.removeAll { Self.sameFieldName($0.0, name) }
        headers.append((name, value))
    }

    /// Sets (replaces) response header `name`.
    func setResponseHeader(_ name: String, _ value: String) {
        responseHeaders.removeAll { Self.sameFieldName($0.0, name) }
        responseHeaders.append((name, value))
    }

    /// ASCII case-insensitive equality of header names, without allocating.
    static func sameFieldName(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && zip(a.utf8, b.utf8).allSatisfy { $0 | 0x20 == $1 | 0x20 }
    }

    /// Replaces the response's status and body with a JSON error; headers wrappers set so far stay.
    func fail(status: UInt32, _ json: String) {
        self.status = status
        setResponseHeader("Content-Type", "application/json")
        responseBody = Array(json.utf8)
    }

    /// The response as the adapter needs it.
    var response: PluginHTTPResponse {
        PluginHTTPResponse(status: Int(status), headers: responseHeaders, body: responseBody)
    }
}

/// A request handed to the endpoint table by an HTTP adapter.
public struct PluginHTTPRequest: Sendable {
    /// "GET", "POST", …
    public var method: String
    /// The path, without the query, not yet percent-decoded.
    public var path: String
    /// The raw query string (after `?`), or empty.
    public var query: String
    /// Header fields in order.
    public var headers: [(String, String)]
    /// The body, already limited in size by the adapter.
    public var body: [UInt8]

    /// Creates a request.
    public init(method: String, path: String, query: String = "", headers: [(String, String)] = [], body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    /// Whether `path` has an empty segment: `//` anywhere, or a trailing `/` after a segment.
    public static func hasEmptySegments(_ path: String) -> Bool {
        var previousWasSlash = false
        for byte in path.utf8 {
            let isSlash = byte == UInt8(ascii: "/")
            if isSlash && previousWasSlash { return true }
            previousWasSlash = isSlash
        }
        return previousWasSlash && path.utf8.count > 1
    }

    /// `path` without empty segments (`//a//b/` becomes `/a/b`), as routing sees it.
    public static func mergingSlashes(_ path: String) -> String {
        "/" + path.split(separator: "/", omittingEmptySubsequences: true).joined(separator: "/")
    }

    /// The query parameters of `query`, percent-decoded to their exact bytes, in order.
    static func parseQuery(_ query: String) -> [(name: [UInt8], value: [UInt8])] {
        query.utf8.split(separator: UInt8(ascii: "&")).map { pair in
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            return (PercentDecoding.decodeBytes(parts[0], plusIsSpace: true),
                    parts.count > 1 ? PercentDecoding.decodeBytes(parts[1], plusIsSpace: true) : [])
        }
    }
}

/// The response an endpoint chain produced.
public struct PluginHTTPResponse: Sendable {
    /// The status code.
    public var status: Int
    /// Header fields in order.
    public var headers: [(String, String)]
    /// The body.
    public var body: [UInt8]

    /// Creates a response.
    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON response.
    public static func json(_ status: Int, _ text: String) -> PluginHTTPResponse {
        PluginHTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: Array(text.utf8))
    }
}
