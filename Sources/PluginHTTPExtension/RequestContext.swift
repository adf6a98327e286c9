#if canImport(Glibc)
import Glibc
#endif
public import CPluginABI
public import PluginRuntime

/// One HTTP exchange as plugins see it through `ph_http_request_t`: the
/// request, the response being built, request properties and parsed
/// parameters. (The position in the wrapper chain is the C walk's.)
///
/// Every span handed to a plugin lives in the request's ``RequestArena`` until
/// the request ends. Path captures and query values are decoded from the
/// request's bytes when first read, once.
///
/// Used by one request at a time, on the thread serving it, and never
/// re-entrantly within one access: its stored properties opt out of Swift's
/// dynamic exclusivity checks (`@exclusivity(unchecked)`), which cost more
/// than the rest of an accessor call.
final class RequestContext {
    // Request
    let method: String
    /// The path, not decoded; its UTF-8 is contiguous (see ``withPathBytes(_:)``).
    let path: String
    private let rawQuery: String
    @exclusivity(unchecked) var headers: [(String, String)]
    let body: [UInt8]

    // Response
    @exclusivity(unchecked) var status: UInt32 = 200
    @exclusivity(unchecked) var responseHeaders: [(String, String)] = []
    @exclusivity(unchecked) var responseBody: [UInt8] = []

    // Chain state
    @exclusivity(unchecked) var properties: [String: TypedValue] = [:]
    /// Parsed typed parameters, in signature order; nil before parsing.
    @exclusivity(unchecked) var parameters: [TypedValue]?
    /// A handler-form typed endpoint answered PH_PENDING: its answer is checked when it resumes.
    @exclusivity(unchecked) var typedAnswerPending = false
    /// Set while a route whose steps may defer runs, and kept (weakly: the deferral holds
    /// this context) while the request is deferred; `http->resume` finds it here.
    weak var deferral: Deferral?
    /// The route being served. unowned(unsafe): its endpoint table, held by the generation
    /// serving this request, outlives the request; this saves reference counting per step.
    unowned(unsafe) let route: EndpointTable.Route

    /// Spans handed out so far and the memory behind them; made by the first accessor
    /// that hands one out (a request that hands none out never allocates it).
    @exclusivity(unchecked) private var handedOut: HandedOutSpans?

    /// The request's ``HandedOutSpans``, made on first use.
    private var spans: HandedOutSpans {
        if let handedOut { return handedOut }
        let made = HandedOutSpans()
        handedOut = made
        return made
    }

    init(request: PluginHTTPRequest, route: EndpointTable.Route) {
        self.method = request.method
        var path = request.path
        path.makeContiguousUTF8()
        self.path = path
        self.rawQuery = request.query
        self.headers = request.headers
        self.body = request.body
        self.route = route
    }

    /// The context behind the opaque handle plugins receive.
    ///
    /// The handle is the request's `ph_chain_request_t` (see ChainWalk.run), whose first
    /// field is this context, unretained: one load finds it.
    static func from(_ handle: OpaquePointer) -> RequestContext {
        Unmanaged<RequestContext>.fromOpaque(UnsafeRawPointer(handle).load(as: UnsafeRawPointer.self)).takeUnretainedValue()
    }

    /// Calls `body` with the context behind `handle` without retaining it: for the
    /// chain's own steps, while `ChainWalk.run` holds the context.
    static func withGuaranteed<R>(_ handle: OpaquePointer, _ body: (RequestContext) -> R) -> R {
        Unmanaged<RequestContext>.fromOpaque(UnsafeRawPointer(handle).load(as: UnsafeRawPointer.self))._withUnsafeGuaranteedRef(body)
    }

    /// Calls `body` with the path's UTF-8 bytes, without copying them.
    func withPathBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = path.utf8.withContiguousStorageIfAvailable(body) { return result }
        return Array(path.utf8).withUnsafeBufferPointer(body)
    }

    /// The method, NUL-terminated in request storage.
    var methodBytes: ByteSpan {
        if let span = handedOut?.methodSpan { return span }
        let span = spans.arena.copy(method)
        spans.methodSpan = span
        return span
    }

    /// The path as sent (not decoded), NUL-terminated in request storage.
    var pathBytes: ByteSpan {
        if let span = handedOut?.pathSpan { return span }
        let span = withPathBytes { spans.arena.copy(UnsafeRawBufferPointer($0)) }
        spans.pathSpan = span
        return span
    }

    /// The request body in request storage (copied once, when first read).
    var bodyBytes: ByteSpan {
        if let span = handedOut?.bodySpan { return span }
        let span = body.withUnsafeBytes { spans.arena.copy($0) }
        spans.bodySpan = span
        return span
    }

    /// Path capture number `index` (in pattern order), percent-decoded to its exact bytes.
    func capture(_ index: Int) -> ByteSpan? {
        let positions = route.capturePositions
        guard index < positions.count else { return nil }
        if spans.captureSpans.isEmpty { spans.captureSpans = Array(repeating: nil, count: positions.count) }
        if let span = spans.captureSpans[index] { return span }
        let span: ByteSpan? = withPathBytes { bytes in
            guard let range = PathSegments.segment(positions[index], of: bytes) else { return nil }
            return spans.arena.decode(UnsafeBufferPointer(rebasing: bytes[range]), plusIsSpace: false)
        }
        spans.captureSpans[index] = span
        return span
    }

    /// Calls `body` with path capture number `index` decoded: the path's own bytes
    /// when the segment has no escape (no copy), else its decoded copy. Nil without such a capture.
    func withCapture<R>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R? {
        let positions = route.capturePositions
        guard index < positions.count else { return nil }
        let plain: R?? = withPathBytes { bytes in
            guard let range = PathSegments.segment(positions[index], of: bytes) else { return .some(nil) }
            let segment = UnsafeBufferPointer(rebasing: bytes[range])
            return segment.contains(UInt8(ascii: "%")) ? nil : .some(body(segment))
        }
        if let plain { return plain }
        return capture(index).map { body($0.buffer) }
    }

    /// The path capture called `name`.
    func capture(named name: UnsafeBufferPointer<UInt8>) -> ByteSpan? {
        guard let index = route.captureNames.firstIndex(where: { $0.withUnsafeBufferPointer { $0.elementsEqual(name) } }) else { return nil }
        return capture(index)
    }

    /// The first query parameter called `name`, percent-decoded to its exact bytes.
    func query(named name: UnsafeBufferPointer<UInt8>) -> ByteSpan? {
        if spans.querySpans == nil { spans.querySpans = parseQuery() }
        return spans.querySpans!.first { $0.name.equals(name) }?.value
    }

    /// The query parameters in order, decoded into request storage.
    private func parseQuery() -> [(name: ByteSpan, value: ByteSpan)] {
        var query = rawQuery
        return query.withUTF8 { bytes in
            var pairs: [(name: ByteSpan, value: ByteSpan)] = []
            QueryString.forEachPair(in: bytes) { name, value in
                pairs.append((spans.arena.decode(name, plusIsSpace: true), spans.arena.decode(value, plusIsSpace: true)))
            }
            return pairs
        }
    }

    /// A copy of `bytes` plus one uncounted NUL in request storage.
    func copy(_ bytes: [UInt8]) -> ByteSpan {
        bytes.withUnsafeBytes { spans.arena.copy($0) }
    }

    /// A copy of `text`'s UTF-8 plus one uncounted NUL in request storage.
    func copy(_ text: String) -> ByteSpan {
        spans.arena.copy(text)
    }

    /// The value of request header `name`, case-insensitively.
    func header(_ name: String) -> String? {
        headers.first { Self.sameFieldName($0.0, name) }?.1
    }

    /// The value of request header `name` (UTF-8 bytes), case-insensitively.
    func header(named name: UnsafeBufferPointer<UInt8>) -> String? {
        headers.first { $0.0.utf8.count == name.count && zip($0.0.utf8, name).allSatisfy { $0 | 0x20 == $1 | 0x20 } }?.1
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

    /// Replaces the response's status and body with the host's error `body`; headers wrappers set so far stay.
    func fail(status: UInt32, _ body: HostErrorBody) {
        self.status = status
        setResponseHeader("Content-Type", "application/json")
        responseBody = Array(body.json.utf8)
    }

    /// The response as the adapter needs it.
    var response: PluginHTTPResponse {
        PluginHTTPResponse(status: Int(status), headers: responseHeaders, body: responseBody)
    }
}

/// The spans one request has handed to plugins, and the arena that holds them.
final class HandedOutSpans {
    // Used like its RequestContext: one thread, no overlapping access.
    /// Memory for every span handed out; freed when the request ends.
    @exclusivity(unchecked) var arena = RequestArena()
    @exclusivity(unchecked) var methodSpan: ByteSpan?
    @exclusivity(unchecked) var pathSpan: ByteSpan?
    @exclusivity(unchecked) var bodySpan: ByteSpan?
    /// Decoded path captures, by capture number, once read.
    @exclusivity(unchecked) var captureSpans: [ByteSpan?] = []
    /// Decoded query parameters, in order, once read.
    @exclusivity(unchecked) var querySpans: [(name: ByteSpan, value: ByteSpan)]?
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

/// The pairs of a query string.
enum QueryString {
    /// Calls `body` with each `name=value` pair of `query`, not yet decoded, in order:
    /// pairs split on `&` (empty ones skipped), name and value on the first `=`
    /// (a pair without one has an empty value).
    static func forEachPair(in query: UnsafeBufferPointer<UInt8>,
                            _ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>) -> Void) {
        var start = 0
        for index in 0...query.count where index == query.count || query[index] == UInt8(ascii: "&") {
            defer { start = index + 1 }
            guard index > start else { continue }
            let pair = UnsafeBufferPointer(rebasing: query[start..<index])
            let equals = pair.firstIndex(of: UInt8(ascii: "=")) ?? pair.endIndex
            let name = UnsafeBufferPointer(rebasing: pair[..<equals])
            let value = equals == pair.endIndex ? UnsafeBufferPointer(rebasing: pair[equals...])
                                                : UnsafeBufferPointer(rebasing: pair[(equals + 1)...])
            body(name, value)
        }
    }
}
