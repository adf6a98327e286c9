import NIOCore

/// Closes a connection whose client takes longer than `[host] header-timeout-ms`
/// to send a request's complete headers (a slow-header, "slowloris" client
/// would otherwise hold the connection and its resources for ever).
///
/// The clock runs whenever the connection waits for a request head: from
/// the moment it opens, and again once every request read so far has been
/// answered (an idle keep-alive connection is closed after the same time).
/// It never runs while a request is being served. Owned by the connection's
/// ``RequestServingHandler``, which sees every head and every answer, and
/// used on its event loop only.
final class HeaderTimeout {
    private let timeout: TimeAmount
    /// The one timer of the connection, or nil; it is not cancelled when a head
    /// arrives (that would schedule a new task for every request): when it fires
    /// it closes, waits further, or goes away, according to ``deadline``.
    private var timer: Scheduled<Void>?
    /// When the connection must have sent a complete head; nil while no head is awaited.
    private var deadline: NIODeadline?
    /// Requests whose head arrived and whose answer has not been written to its end.
    private var unanswered = 0
    /// The connection is gone: the clock never runs again.
    private var stopped = false

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    /// The connection opened: the first head is awaited.
    func start(_ context: ChannelHandlerContext) {
        arm(context)
    }

    /// A request's head arrived.
    func headArrived() {
        unanswered += 1
        deadline = nil
    }

    /// A request's answer was written to its end.
    func answered(_ context: ChannelHandlerContext) {
        unanswered = max(0, unanswered - 1)
        if unanswered == 0 { arm(context) }
    }

    /// The connection closed or the handler went away.
    func stop() {
        stopped = true
        timer?.cancel()
        timer = nil
        deadline = nil
    }

    /// Starts waiting for a head: a new deadline, and a timer only if none is pending.
    private func arm(_ context: ChannelHandlerContext) {
        guard !stopped else { return }
        let due = NIODeadline.now() + timeout
        deadline = due
        if timer == nil { schedule(context, at: due) }
    }

    private func schedule(_ context: ChannelHandlerContext, at due: NIODeadline) {
        let bound = NIOLoopBound((clock: self, context: context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: due) {
            bound.value.clock.fire(bound.value.context)
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
}
