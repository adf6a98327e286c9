import HTTPTypes
import NIOHTTPTypes
import NIOCore

/// Closes a connection whose client takes longer than `[host] header-timeout-ms`
/// to send a request's complete headers (a slow-header, "slowloris" client
/// would otherwise hold the connection and its resources for ever).
///
/// The clock runs whenever the connection waits for a request head: from
/// the moment it opens, and again once every request read so far has been
/// answered (an idle keep-alive connection is closed after the same time).
/// It never runs while a request is being served.
final class HeaderTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timeout: TimeAmount
    /// The one timer of the connection, or nil; it is not cancelled when a head
    /// arrives (that would schedule a new task for every request): when it fires
    /// it closes, waits further, or goes away, according to ``deadline``.
    private var timer: Scheduled<Void>?
    /// When the connection must have sent a complete head; nil while no head is awaited.
    private var deadline: NIODeadline?
    /// Requests whose head arrived and whose response has not been written to its end.
    private var unanswered = 0

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stop()
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            unanswered += 1
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            unanswered = max(0, unanswered - 1)
            if unanswered == 0 { arm(context) }
        }
        context.write(data, promise: promise)
    }

    /// Starts waiting for a head: a new deadline, and a timer only if none is pending.
    private func arm(_ context: ChannelHandlerContext) {
        let due = NIODeadline.now() + timeout
        deadline = due
        if timer == nil { schedule(context, at: due) }
    }

    private func schedule(_ context: ChannelHandlerContext, at due: NIODeadline) {
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: due) {
            bound.value.handler.fire(bound.value.context)
        }
    }

    /// Closes when the head is overdue; otherwise waits for the current deadline, if any.
    private func fire(_ context: ChannelHandlerContext) {
        timer = nil
        guard let deadline else { return }
        if NIODeadline.now() >= deadline {
            context.close(promise: nil)
        } else {
            schedule(context, at: deadline)
        }
    }

    private func stop() {
        timer?.cancel()
        timer = nil
        deadline = nil
    }
}
