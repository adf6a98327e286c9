public import HummingbirdCore
public import Logging
public import NIOCore
import NIOHTTP1
public import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import PluginRuntime

/// Each connection's channel: NIO's HTTP/1 codec, then the handlers that serve
/// plugin requests on the event loop (``RequestServingHandler``), then
/// Hummingbird for what they hand on (the host's own paths under `/_plughost/`,
/// requests that arrive while the plugins start).
///
/// Hummingbird's own `HTTP1Channel` puts its additional handlers after its
/// conversion to Swift HTTP Types and serves every request in a Swift task;
/// this channel puts ours before that conversion, so a plugin request costs
/// neither the conversion nor a task.
public struct PluginHTTPChannel: ServerChildChannel, HTTPChannelHandler {
    /// What Hummingbird reads requests from and writes responses to.
    public typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    /// Answers what the serving handler hands on.
    public let responder: HTTPChannelHandler.Responder
    /// Makes each connection's handlers, in pipeline order, between NIO's codec and Hummingbird's.
    let handlers: @Sendable () -> [any ChannelHandler]

    /// A channel whose connections get `handlers` (made anew for each) and hand the rest to `responder`.
    public init(responder: @escaping HTTPChannelHandler.Responder, handlers: @escaping @Sendable () -> [any ChannelHandler]) {
        self.responder = responder
        self.handlers = handlers
    }

    /// Builds the connection's pipeline.
    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            // One read per readiness: a client that sends its next request at once does not
            // get served again before the connections that waited (fairer tail latency).
            try channel.syncOptions?.setOption(ChannelOptions.maxMessagesPerRead, value: 1)
            let pipeline = channel.pipeline.syncOperations
            // Hummingbird's settings: no pipelining assistance (the serving handler and
            // Hummingbird each answer in order), errors answered by whoever holds the request.
            try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false,
                                                     withOutboundHeaderValidation: false)
            try pipeline.addHandlers(handlers())
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel,
                                       configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    /// Hummingbird's request loop, for what the serving handler hands on.
    public func handle(value asyncChannel: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: asyncChannel, logger: logger)
    }
}
