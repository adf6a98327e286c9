#if canImport(Glibc)
import Glibc
#endif
public import Hummingbird
public import HummingbirdCore
public import Logging
public import NIOCore
import NIOExtras
import NIOPosix
public import ServiceLifecycle
import Synchronization

/// Serves HTTP/1 on a listening socket this process inherited instead of one it
/// binds: how a worker serves the socket its supervisor owns for the life of the
/// host (see docs/CONTAINMENT.md).
///
/// Hummingbird's `Application` always binds its own socket, so this is the small
/// server loop of HummingbirdCore's `Server` over NIO's
/// `ServerBootstrap.bind(_:)` of an existing descriptor, with a
/// ``PluginHTTPChannel`` for every connection: the same parser, limits, keep-alive
/// and handlers as `plughost serve --workers 0`. The
/// supervisor keeps the socket open while a worker is replaced, so connections
/// that arrive meanwhile wait in the kernel's backlog instead of being refused.
public struct InheritedSocketServer: Service {
    /// The listening socket's descriptor.
    public let socket: Int32
    /// The supervisor's health socket, answered from the same event loops (see ``HealthAnswerHandler``); nil for none.
    public let healthSocket: Int32?
    let responder: PluginResponder
    /// Makes each connection's handlers (see ``PluginHTTPChannel``).
    let handlers: @Sendable () -> [any ChannelHandler]
    let serverName: String
    let logger: Logger
    let onServerRunning: @Sendable () async -> Void
    /// Told how to stop accepting new connections once the server runs (a successor takes over).
    let onListening: @Sendable (@escaping @Sendable () -> Void) -> Void

    /// How long connections accepted just before a graceful shutdown get to send their request.
    static let acceptGrace: TimeAmount = .seconds(1)

    /// A server answering with `responder` on `socket`.
    public init(socket: Int32, healthSocket: Int32? = nil, responder: PluginResponder, handlers: @escaping @Sendable () -> [any ChannelHandler],
                serverName: String = "plughost", logger: Logger, onServerRunning: @escaping @Sendable () async -> Void = {},
                onListening: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void = { _ in }) {
        self.socket = socket
        self.onListening = onListening
        self.healthSocket = healthSocket
        self.responder = responder
        self.handlers = handlers
        self.serverName = serverName
        self.logger = logger
        self.onServerRunning = onServerRunning
    }

    /// Serves until graceful shutdown, then stops accepting and lets open connections finish.
    public func run() async throws {
        let group = ServingEventLoops.shared
        let responder = self.responder
        let logger = self.logger
        let serverName = self.serverName
        let dates = HTTPDateCache()
        let childChannel = PluginHTTPChannel(responder: { request, writer, channel in
            let context = PluginRequestContext(source: .init(channel: channel, logger: logger))
            var response: Response
            do {
                response = try await responder.respond(to: request, context: context)
            } catch {
                logger.debug("responder failed: \(error)")
                response = Response(status: .internalServerError)
            }
            response.headers[.date] = dates.now
            response.headers[.server] = serverName
            try await writer.write(response: response.head, body: response.body)
        }, handlers: handlers)
        let quiescing = ServerQuiescingHelper(group: group)
        let server = try await ServerBootstrap(group: group)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .bind(NIOBSDSocket.Handle(socket)) { channel in childChannel.setup(channel: channel, logger: logger) }
        // The supervisor's health checks come in through the same accept path and event loops as
        // requests: a worker that cannot accept (out of descriptors) or whose loops are stuck stays silent.
        var health: (any Channel)?
        if let healthSocket { health = try await HealthAnswerHandler.serve(healthSocket, group: group) }
        defer { health?.close(promise: nil) }
        // Stops reading the listener (the socket stays open: what the kernel queued waits for the successor).
        let listener = server.channel
        onListening { listener.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in } }
        await withGracefulShutdownHandler {
            await onServerRunning()
            await withDiscardingTaskGroup { connections in
                do {
                    try await server.executeThenClose { inbound in
                        for try await connection in inbound {
                            // Detached: the connection does not see the service's graceful shutdown
                            // itself (HummingbirdCore would close it at once while idle, even when it
                            // was accepted a moment ago and its request is on the way); the quiescing
                            // below ends it after the grace period instead.
                            connections.addTask {
                                // Cancellation (not graceful shutdown) still reaches the connection.
                                let handling = Task.detached { await childChannel.handle(value: connection, logger: logger) }
                                await withTaskCancellationHandler { await handling.value } onCancel: { handling.cancel() }
                            }
                        }
                    }
                } catch is CancellationError {
                    // An orderly stop, not a failure.
                } catch {
                    logger.error("accepting connections failed: \(error)")
                }
            }
        } onGracefulShutdown: {
            // A connection accepted just before has not sent its request yet and would count
            // as idle: the connections are asked to finish and close (and this process's copy
            // of the socket closes; the supervisor's stays) only after a grace period.
            // Accepting stops without closing the listener, so connections NIO accepted
            // already and has not handed over yet are still served, and those in the
            // kernel's queue stay there for a successor.
            server.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in
                server.channel.eventLoop.scheduleTask(in: Self.acceptGrace) { quiescing.initiateShutdown(promise: nil) }
            }
        }
    }
}

/// The `Date` header's value for any thread (Hummingbird's answers), formatted once per second.
final class HTTPDateCache: Sendable {
    private let cached = Mutex(DateHeaderCache())

    /// The current date.
    var now: String { cached.withLock { $0.current() } }
}

/// Answers the supervisor's health check: "pong" for whatever it sends, then closes.
final class HealthAnswerHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let answer = context.channel.allocator.buffer(string: "pong\n")
        context.writeAndFlush(wrapOutboundOut(answer)).whenComplete { _ in context.close(promise: nil) }
    }

    /// Serves the inherited listening socket `descriptor` on `group`; the server channel.
    static func serve(_ descriptor: Int32, group: MultiThreadedEventLoopGroup) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(HealthAnswerHandler()) }
            }
            .withBoundSocket(NIOBSDSocket.Handle(descriptor))
            .get()
    }
}
