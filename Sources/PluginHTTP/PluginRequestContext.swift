public import Hummingbird
public import NIOCore

/// The request context of the plugin host: Hummingbird's basics plus the
/// client's address (the reload endpoint answers loopback clients only).
public struct PluginRequestContext: RequestContext, RemoteAddressRequestContext {
    /// Hummingbird's per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// The connected client's address.
    public let remoteAddress: SocketAddress?
    /// The connection: a request a plugin deferred is given up once it is no longer active.
    public let connection: any Channel

    /// Creates the context of a request arriving on `source.channel`.
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        connection = source.channel
    }

    /// Whether the client connected from this machine (127.0.0.0/8, ::1, or a Unix socket).
    public var isLoopback: Bool {
        guard let remoteAddress else { return false }
        switch remoteAddress {
        case .unixDomainSocket: return true
        case .v4: return remoteAddress.ipAddress?.hasPrefix("127.") ?? false
        case .v6:
            guard let ip = remoteAddress.ipAddress else { return false }
            return ip == "::1" || ip.hasPrefix("::ffff:127.")
        }
    }
}
