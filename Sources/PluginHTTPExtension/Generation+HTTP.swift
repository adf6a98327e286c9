public import PluginRuntime
extension Generation {
    /// This generation's HTTP endpoints and wrapper chains (empty when the runtime does not offer HTTP).
    @inline(__always)
    public var endpoints: EndpointTable {
        guard let part = part(for: HTTPHostExtension.shared) else { return EndpointTable.empty }
        return unsafeDowncast(part, to: EndpointTable.self)
    }

    /// Serves one HTTP request through its endpoint chain, firing the
    /// request-received and response-sent events when anyone listens.
    public func handle(_ request: PluginHTTPRequest) -> PluginHTTPResponse {
        handle(request, resolved: endpoints.resolve(request))
    }

    /// As ``handle(_:)``, for a request already resolved by this generation's ``endpoints``
    /// (a request a plugin deferred is waited for on this thread).
    public func handle(_ request: PluginHTTPRequest, resolved: ResolvedRequest) -> PluginHTTPResponse {
        serve(request, resolved: resolved).waitedFor()
    }

    /// Whether `resolved`'s plugin work may run on the calling thread (one that serves
    /// connections): every plugin on its route declared it never blocks, and so did every
    /// plugin listening to the request-received and response-sent events it fires.
    public func runsInline(_ resolved: ResolvedRequest) -> Bool {
        resolved.runsInline && !subscribersMayBlock(.requestReceived) && !subscribersMayBlock(.responseSent)
    }

    /// Serves a request resolved by this generation's ``endpoints``, firing the request-received
    /// and response-sent events when anyone listens; a deferred request holds no thread (see ``Deferral``).
    public func serve(_ request: PluginHTTPRequest, resolved: ResolvedRequest) -> EndpointTable.Outcome {
        let listensToRequests = events.subscriberCount(of: .requestReceived) > 0
        let listensToResponses = events.subscriberCount(of: .responseSent) > 0
        if listensToRequests { publish(.requestReceived, text: "\(request.method) \(request.path)") }
        guard listensToResponses else { return endpoints.serve(request, resolved: resolved) }
        let start = ContinuousClock.now
        let sent: (PluginHTTPResponse) -> Void = { response in
            let elapsed = (ContinuousClock.now - start).wholeMicroseconds
            self.publish(.responseSent, text: "\(response.status) \(elapsed) \(request.method) \(request.path)")
        }
        let outcome = endpoints.serve(request, resolved: resolved)
        switch outcome {
        case .done(let response): sent(response)
        case .pending(let deferral): deferral.onFinish = sent
        }
        return outcome
    }
}
