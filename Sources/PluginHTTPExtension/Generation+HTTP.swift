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

    /// As ``handle(_:)``, for a request already resolved by this generation's ``endpoints``.
    public func handle(_ request: PluginHTTPRequest, resolved: ResolvedRequest) -> PluginHTTPResponse {
        let listensToRequests = events.subscriberCount(of: .requestReceived) > 0
        let listensToResponses = events.subscriberCount(of: .responseSent) > 0
        if listensToRequests { publish(.requestReceived, text: "\(request.method) \(request.path)") }
        let start = listensToResponses ? ContinuousClock.now : nil
        let response = endpoints.handle(request, resolved: resolved)
        if let start {
            let elapsed = (ContinuousClock.now - start).wholeMicroseconds
            publish(.responseSent, text: "\(response.status) \(elapsed) \(request.method) \(request.path)")
        }
        return response
    }

}
