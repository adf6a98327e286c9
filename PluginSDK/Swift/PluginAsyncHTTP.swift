import CPluginABI
import Synchronization

extension HTTPRegistrar {
    /// Whether the host finishes deferred requests (ABI 1.2: `ph_http_t.resume`).
    public var supportsDeferral: Bool {
        Int(api.pointee.struct_size) >= MemoryLayout<ph_http_t>.size
    }

    /// Registers an endpoint whose handler may wait (for a database, another
    /// service, a timer) without holding a host thread: the host's thread moves
    /// on at once (the endpoint answers `PH_PENDING`), the handler runs as a Swift
    /// task, and the response goes out when it returns (`http->resume`).
    /// Throwing answers 500 with the error's description. When the host gives up
    /// on the request (its deadline, the client leaving, shutdown) the task is
    /// cancelled: `Task.isCancelled`, `try Task.checkCancellation()` and
    /// cancellable waits such as `Task.sleep` see it.
    ///
    /// ```swift
    /// // fragment: statements
    /// try http.asyncEndpoint("GET", "/hello/later") { exchange in
    ///     try await Task.sleep(for: .milliseconds(20))
    ///     exchange.setBody("hello, later")
    /// }
    /// ```
    ///
    /// The task uses the exchange alone: the host does not touch the request until the task
    /// returns. A reload waits for deferred requests as for running ones. See `docs/ASYNC.md`
    /// in the plughost repository for the host's side.
    /// - Throws: When the host predates deferred completion (ABI 1.2), or refuses the endpoint.
    public func asyncEndpoint(_ method: String, _ path: String,
                              _ handler: @escaping @Sendable (HTTPExchange) async throws -> Void) throws {
        guard supportsDeferral else { throw PluginFailure("the host does not finish deferred requests (ABI 1.2 or later needed)") }
        let api = self.api
        try endpoint(method, path, mayDefer: true) { exchange in
            AsyncRequest.start(exchange, api: api, handler)
            throw DeferredSignal()
        }
    }

    /// Registers a wrapper whose `call` may wait without holding a host thread
    /// (ABI 1.2, as ``asyncEndpoint(_:_:_:)``): it runs as a Swift task, continues
    /// the chain with ``HTTPExchange/continueChain()`` when it is ready (from the
    /// task's thread), and the request is finished when it returns. Throwing
    /// answers 500; the host giving up cancels the task. `accepts` works as for
    /// ``wrapper(_:phase:match:accepts:_:)``.
    ///
    /// ```swift
    /// // fragment: statements
    /// try http.asyncWrapper("quota", match: "/api/*") { exchange in
    ///     try await Task.sleep(for: .milliseconds(5))           // ask a quota service, say
    ///     guard exchange.header("Authorization") != nil else {
    ///         exchange.status = 429
    ///         return                                           // answered without the endpoint
    ///     }
    ///     exchange.continueChain()
    /// }
    /// ```
    public func asyncWrapper(_ name: String, phase: Phase = .pre, match: String = "*",
                             accepts: ((EndpointInfo) -> Bool)? = nil,
                             _ call: @escaping @Sendable (HTTPExchange) async throws -> Void) throws {
        guard supportsDeferral else { throw PluginFailure("the host does not finish deferred requests (ABI 1.2 or later needed)") }
        let api = self.api
        try wrapper(name, phase: phase, match: match, mayDefer: true, accepts: accepts) { exchange in
            AsyncRequest.start(exchange, api: api, call)
            throw DeferredSignal()
        }
    }
}

/// Thrown by the synchronous trampoline of ``HTTPRegistrar/asyncEndpoint(_:_:_:)``
/// so that ``HTTPHandlerBox`` answers `PH_PENDING` instead of `PH_OK`.
struct DeferredSignal: Error {}

/// One request an async endpoint deferred: its task, and the host's cancellation.
final class AsyncRequest: @unchecked Sendable {
    // @unchecked Sendable: `task` is set once before the host can cancel (on_cancel is
    // registered after it), and read under the host's lock in `cancelled`.
    private var task: Task<Void, Never>?
    /// An async wrapper's `continueChain` found a step inside deferring: that step finishes the request.
    let innerDeferred = Atomic<Bool>(false)

    /// Starts `handler` as a task for `exchange`'s request; the task resumes the request when it ends.
    static func start(_ exchange: HTTPExchange, api: UnsafePointer<ph_http_t>,
                      _ handler: @escaping @Sendable (HTTPExchange) async throws -> Void) {
        let request = AsyncRequest()
        let box = Unmanaged.passRetained(request)
        var exchange = exchange
        exchange.deferred = request
        let sendable = SendableExchange(exchange)
        request.task = Task { [request] in
            var status = PH_OK
            var message: String?
            do {
                try await handler(sendable.exchange)
            } catch {
                status = PH_ERR_FAILED
                message = Task.isCancelled ? "cancelled: \(error)" : "\(error)"
            }
            let exchange = sendable.exchange
            // After resume the host never calls `cancelled` again: the retain for it can go.
            // (A step inside that deferred finishes the request itself.)
            if !request.innerDeferred.load(ordering: .acquiring) {
                _ = message.withOptionalCString { exchange.api.pointee.resume(exchange.request, status, $0) }
            } else {
                // The step inside finishes it; this box must not be called any more.
                _ = exchange.api.pointee.on_cancel(exchange.request, { _ in }, nil)
            }
            Unmanaged.passUnretained(request).release()
        }
        _ = api.pointee.on_cancel(exchange.request, { userData in
            Unmanaged<AsyncRequest>.fromOpaque(userData!).takeUnretainedValue().task?.cancel()
        }, box.toOpaque())
    }
}

/// An exchange handed to the task that finishes it: the host lets one thread at a time use it.
struct SendableExchange: @unchecked Sendable {
    let exchange: HTTPExchange
    init(_ exchange: HTTPExchange) { self.exchange = exchange }
}

extension Optional where Wrapped == String {
    /// Calls `body` with the string as a C string, or NULL.
    func withOptionalCString<R>(_ body: (UnsafePointer<CChar>?) -> R) -> R {
        switch self {
        case .some(let text): text.withCString { body($0) }
        case .none: body(nil)
        }
    }
}
