public import Hummingbird
import HTTPTypes
import NIOCore
import Logging
public import PluginRuntime
public import PluginHTTPExtension

/// Serves every request from the runtime's current generation: the host's own
/// admin endpoints under `/_plughost/`, then plugin endpoints and their wrapper chains.
///
/// Each request runs on the generation that was current when its plugin work
/// began, counted as in flight there: a reload retires that generation only
/// after the request is answered.
public struct PluginResponder: HTTPResponder {
    public typealias Context = PluginRequestContext

    /// The runtime whose generation serves requests.
    public let runtime: PluginRuntime
    /// Runs reloads asked for with `POST /_plughost/reload`; nil disables that endpoint.
    public let reloader: (any HostControl)?
    /// Largest request body accepted; larger ones get a 413.
    public let maxBodyBytes: Int
    /// Where plugin work that may block runs; nil runs every call on the serving thread.
    public let calls: PluginCallPool?
    /// Counts requests and serves `GET /_plughost/metrics`; nil counts nothing (and that path answers 404).
    public let metrics: HostMetrics?
    /// Whether the host's plugins have started: nil for a runtime started before it serves.
    public let readiness: HostReadiness?

    /// Creates a responder.
    public init(runtime: PluginRuntime, reloader: (any HostControl)? = nil, maxBodyBytes: Int, calls: PluginCallPool? = nil,
                metrics: HostMetrics? = nil, readiness: HostReadiness? = nil) {
        self.runtime = runtime
        self.reloader = reloader
        self.maxBodyBytes = maxBodyBytes
        self.calls = calls
        self.metrics = HTTPServerConfig(runtime.config).metrics ? metrics : nil
        self.readiness = readiness
    }

    /// Answers one request.
    public func respond(to request: Request, context: Context) async throws -> Response {
        let path = request.uri.path
        if path.hasPrefix(AdminEndpoints.prefix) {
            return await AdminEndpoints.respond(method: request.method, path: path,
                                                authorization: request.headers[.authorization], context: context,
                                                runtime: runtime, reloader: reloader, metrics: metrics, readiness: readiness).hummingbird
        }
        // A request that comes while the plugins start waits for them (probes above answer at once).
        if let readiness, readiness.current != .serving, await !readiness.waitUntilStarted() {
            return PluginHTTPResponse.hostError(503, "the host's plugins did not start").hummingbird
        }
        guard let metrics else { return try await servePlugins(request, path: path, context: context).response.hummingbird }
        let started = ContinuousClock.now
        let (response, route) = try await servePlugins(request, path: path, context: context)
        if let route {
            let (seconds, attoseconds) = (ContinuousClock.now - started).components
            route.record(status: response.status, nanoseconds: seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        } else {
            metrics.countUnrouted(status: response.status)
        }
        return response.hummingbird
    }

    /// A request for the plugins: its response, and the figures of the route that served it (nil for the host's own answer).
    private func servePlugins(_ request: Request, path: String, context: Context) async throws -> (response: PluginHTTPResponse, route: RouteMetrics?) {
        var request = request
        // Admin endpoints answer their one canonical spelling only (a proxy rule on the
        // prefix cannot be bypassed with `//_plughost/…`); other spellings reach nothing.
        if PluginHTTPRequest.hasEmptySegments(path) && PluginHTTPRequest.mergingSlashes(path).hasPrefix(AdminEndpoints.prefix) {
            return (PluginHTTPResponse.hostError(404, "not found"), nil)
        }
        var body: [UInt8] = []
        // HTTP/1.1 requests have a body only when they say so (RFC 9112, 6.3): most GETs skip the collection.
        if request.headers[.contentLength] != nil || request.headers[.transferEncoding] != nil {
            do {
                body = Array(buffer: try await request.collectBody(upTo: maxBodyBytes))
            } catch is NIOTooManyBytesError {
                return (PluginHTTPResponse.hostError(413, "request body too large", ["limit": .number(maxBodyBytes)]), nil)
            }
        }
        let pluginRequest = PluginHTTPRequest(
            method: request.method.rawValue, path: path, query: request.uri.query ?? "",
            headers: request.headers.map { ($0.name.rawName, $0.value) }, body: body)
        guard let lease = runtime.leaseCurrentGeneration() else {
            return (PluginHTTPResponse.hostError(503, "no plugins are running"), nil)
        }
        let generation = lease.generation
        let resolved = generation.endpoints.resolve(pluginRequest)
        // Plugin work that may block goes to the pool; without one (embedding), every call runs here.
        if let calls, !generation.runsInline(resolved) {
            return (await calls.run(pluginRequest, resolved: resolved, on: lease, connection: context.connection), resolved.metrics)
        }
        switch generation.serve(pluginRequest, resolved: resolved) {
        case .done(let response):
            lease.release()
            return (response, resolved.metrics)
        case .pending(let deferral):
            // This thread moves on; with a pool, the request's deadline and its connection still apply.
            if let calls {
                return (await calls.wait(for: deferral, resolved: resolved, on: lease, connection: context.connection), resolved.metrics)
            }
            let response = await withCheckedContinuation { continuation in deferral.onCompletion { continuation.resume(returning: $0) } }
            lease.release()
            return (response, resolved.metrics)
        }
    }
}

extension PluginHTTPResponse {
    /// The response as Hummingbird sends it, under the rules of the event-loop path (``ResponseBytes``):
    /// the host's own framing and date fields, values made safe, no body for 204 and 304, a plugin's
    /// interim (1xx) status answered as its failure.
    var hummingbird: Response {
        guard status >= 200 else {
            return PluginHTTPResponse.hostError(500, "plugin answered an interim status", ["status": .number(status)]).hummingbird
        }
        var fields = HTTPFields()
        for (name, value) in headers where ResponseFields.isPluginSettable(name) {
            if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: ResponseFields.legalValue(value))) }
        }
        var buffer = ByteBuffer()
        if status != 204 && status != 304 { buffer.writeBytes(body) }
        return Response(status: HTTPResponse.Status(code: status), headers: fields, body: ResponseBody(byteBuffer: buffer))
    }
}
