#if canImport(Glibc)
import Glibc
#endif
import CPluginABI

/// One immutable set of running plugins: their instances, the frozen event
/// table and the services they provide.
///
/// The runtime swaps whole generations; readers take a snapshot and dispatch
/// on it without a lock.
public final class Generation: @unchecked Sendable {
    // @unchecked Sendable: every member is immutable after init.

    /// Counts generations within one runtime, from 1.
    public let number: Int
    /// The frozen subscriber lists.
    public let events: EventTable
    /// Services by id.
    let services: [String: UnsafeRawPointer]
    /// The HTTP endpoints and their wrapper chains.
    public let endpoints: EndpointTable
    /// Instances in config order.
    let instances: [PluginInstance]

    init(number: Int, events: EventTable, services: [String: UnsafeRawPointer], endpoints: EndpointTable, instances: [PluginInstance]) {
        self.number = number
        self.events = events
        self.services = services
        self.endpoints = endpoints
        self.instances = instances
    }

    /// The aliases in this generation, in config order.
    public var aliases: [String] { instances.map(\.alias) }

    /// Delivers event `id` from the host to every subscriber, in order, on this thread.
    /// - Parameter payload: Bytes valid for the duration of the call.
    @inline(__always)
    public func publish(_ id: EventID, payload: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) {
        events.publish(id.rawValue, source: Self.hostSource, payload: payload)
    }

    /// Delivers event `id` with a UTF-8 payload.
    public func publish(_ id: EventID, text: String) {
        var text = text
        text.withUTF8 { publish(id, payload: UnsafeRawBufferPointer($0)) }
    }

    /// Serves one HTTP request through its endpoint chain, firing the
    /// request-received and response-sent events when anyone listens.
    public func handle(_ request: PluginHTTPRequest) -> PluginHTTPResponse {
        let listensToRequests = events.subscriberCount(of: .requestReceived) > 0
        let listensToResponses = events.subscriberCount(of: .responseSent) > 0
        if listensToRequests { publish(.requestReceived, text: "\(request.method) \(request.path)") }
        let start = listensToResponses ? ContinuousClock.now : nil
        let response = endpoints.handle(request)
        if let start {
            let micros = (ContinuousClock.now - start).components
            let elapsed = micros.seconds * 1_000_000 + micros.attoseconds / 1_000_000_000_000
            publish(.responseSent, text: "\(response.status) \(elapsed) \(request.method) \(request.path)")
        }
        return response
    }

    /// Runs the check subscribers of `id` from the host.
    public func check(_ id: EventID, payload: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) -> CheckResult {
        var deniedBy: String?
        let (verdict, reason) = MessageBuffer.with { message in
            let result = events.check(id.rawValue, source: Self.hostSource, payload: payload, reason: message)
            deniedBy = result.deniedBy.map { String(cString: $0) }
            return result.verdict
        }
        switch verdict {
        case PH_DENY: return .deny(by: deniedBy ?? "?", reason: reason)
        case PH_ALLOW: return .allow
        default: return .abstain
        }
    }

    /// The interned `"plughost"` source name.
    // nonisolated(unsafe): written once at first use, immutable C memory afterwards.
    nonisolated(unsafe) static let hostSource: UnsafePointer<CChar> = UnsafePointer(strdup("plughost")!)
}

/// The outcome of a check event.
public enum CheckResult: Equatable, Sendable {
    /// At least one subscriber allowed and none denied.
    case allow
    /// Every subscriber abstained (or there were none).
    case abstain
    /// `by` denied first, with `reason`.
    case deny(by: String, reason: String)
}
