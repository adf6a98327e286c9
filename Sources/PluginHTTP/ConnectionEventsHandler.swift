import NIOCore
import PluginRuntime
import PluginHTTPExtension

/// Fires `plughost.client-connected` when a connection opens and
/// `plughost.client-disconnected` when it closes, with the peer's address
/// ("IP:PORT") as payload, on the current generation.
///
/// Costs one subscriber count per connection event when nobody subscribes:
/// the address is formatted only for subscribers. Subscribers of plugins that
/// declared `PH_PLUGIN_NEVER_BLOCKS` run on the connection's event-loop thread;
/// when any other plugin listens, the event is published on the blocking pool
/// instead (when there is one), so a slow subscriber stalls no connection.
final class ConnectionEventsHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let runtime: PluginRuntime
    private let calls: PluginCallPool?
    private var announced = false

    init(runtime: PluginRuntime, calls: PluginCallPool?) {
        self.runtime = runtime
        self.calls = calls
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { connected(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        connected(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if announced { publish(.clientDisconnected, address: context.channel.remoteAddress) }
        announced = false
        context.fireChannelInactive()
    }

    private func connected(_ context: ChannelHandlerContext) {
        guard !announced else { return }
        announced = true
        publish(.clientConnected, address: context.channel.remoteAddress)
    }

    private func publish(_ event: EventID, address: SocketAddress?) {
        guard let lease = runtime.leaseCurrentGeneration() else { return }
        let generation = lease.generation
        guard generation.events.subscriberCount(of: event) > 0 else { return lease.release() }
        let text = Self.text(of: address)
        guard let calls, generation.subscribersMayBlock(event) else {
            generation.publish(event, text: text)
            return lease.release()
        }
        calls.detached {
            generation.publish(event, text: text)
            lease.release()
        }
    }

    /// "IP:PORT", "[IPv6]:PORT", the socket path, or "unknown".
    static func text(of address: SocketAddress?) -> String {
        guard let address else { return "unknown" }
        switch address {
        case .v4: return "\(address.ipAddress ?? "?"):\(address.port ?? 0)"
        case .v6: return "[\(address.ipAddress ?? "?")]:\(address.port ?? 0)"
        case .unixDomainSocket: return address.pathname ?? "unix"
        }
    }
}
