import NIOCore
import NIOHTTP1
import PluginRuntime
import PluginHTTPExtension

/// Serves plugin requests from the connection's event loop: a request whose
/// route runs inline (every plugin on it declared `PH_PLUGIN_NEVER_BLOCKS`) is
/// routed, walked through its chain and answered here, with no Swift task;
/// one whose plugin work may block runs on the ``PluginCallPool`` and one a
/// plugin defers waits without a thread, and their answers hop back to this
/// loop. What this handler does not serve (the host's own `/_plughost/` paths,
/// requests while the plugins start, request targets that are not a plain
/// path) it hands on to Hummingbird, after it in the pipeline.
///
/// Answers leave in request order (pipelining): while a request's answer is
/// pending, later requests wait here (and the connection is not read further);
/// while Hummingbird holds requests, later ones go to Hummingbird too.
/// The connection is not read while its answers cannot be written (a client
/// that does not read them stops being read itself).
///
/// Its answers are written as bytes (``ResponseBytes``) into one buffer the
/// connection reuses, straight to the socket from a pass-through handler at
/// the front of the pipeline (``ResponseOutput``): they skip NIO's response
/// encoder, which only Hummingbird's answers pass. The handler also keeps the
/// connection's ``HeaderTimeout``, since it sees every head and every answer.
final class RequestServingHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// A plugin request being read: its head and the body so far.
    private struct Incoming {
        let head: HTTPRequestHead
        var body: ByteBuffer?
    }

    private enum State {
        /// Waiting for a request head.
        case idle
        /// Reading a plugin request's body.
        case reading(Incoming)
        /// A plugin request's answer comes from another thread; later parts wait in ``queued``.
        case answering
        /// Handing a request's parts on to Hummingbird until its end.
        case handingOn
        /// Dropping the rest of a body refused with 413; past `budget` more bytes the connection closes.
        case discarding(budget: Int)
        /// The connection closes once what was written is sent; later parts are dropped.
        case closing
    }

    private let responder: PluginResponder
    private let serverName: String
    private let headerTimeout: HeaderTimeout
    /// Where answers leave: the front of the pipeline, past NIO's encoder.
    private let output = ResponseOutput()
    private var outputContext: ChannelHandlerContext?
    /// The bytes of the answer being written; reused while nothing else holds them.
    private var outputBuffer = ByteBuffer()
    private var state = State.idle
    /// Requests handed on to Hummingbird whose answer has not been written to its end.
    private var handedOnUnanswered = 0
    /// Parts handed on so far (wrapping): tells whether a drain of ``queued`` handed any on.
    private var handedOnCount = 0
    /// Parts that arrived while an answer was pending, in order.
    private var queued = CircularBuffer<HTTPServerRequestPart>()
    /// A read asked for while reading was held.
    private var readHeld = false
    /// The server is stopping: close once the current request is answered.
    private var quiescing = false
    /// A parse error that came while an answer was pending: dealt with after it.
    private var pendingParseError: (any Error)?
    /// The client closed its side while answers were pending: handed on after them.
    private var pendingInputClosed = false
    private var dates = DateHeaderCache()

    init(responder: PluginResponder, serverName: String, headerTimeout: TimeAmount) {
        self.responder = responder
        self.serverName = serverName
        self.headerTimeout = HeaderTimeout(timeout: headerTimeout)
    }

    // MARK: Connection

    func handlerAdded(context: ChannelHandlerContext) {
        do {
            try context.pipeline.syncOperations.addHandler(output, position: .first)
            outputContext = try context.pipeline.syncOperations.context(handler: output)
        } catch {
            context.fireErrorCaught(error)
            return context.close(promise: nil)
        }
        outputBuffer = context.channel.allocator.buffer(capacity: 512)
        if context.channel.isActive { headerTimeout.start(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        headerTimeout.stop()
    }

    func channelActive(context: ChannelHandlerContext) {
        headerTimeout.start(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        headerTimeout.stop()
        context.fireChannelInactive()
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        var waits = isAnswering || !queued.isEmpty
        if case .head = part {
            headerTimeout.headArrived()
            // A request is not started while answers cannot be written (a client that does not read them).
            waits = waits || !context.channel.isWritable
        }
        if waits { return queued.append(part) }
        process(part, context: context)
    }

    private var isAnswering: Bool {
        if case .answering = state { return true }
        return false
    }

    private func process(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch (state, part) {
        case (.idle, .head(let head)):
            if handedOnUnanswered > 0 || !servesHere(head) {
                handOn(part, context: context)
                state = .handingOn
            } else {
                begin(head, context: context)
            }
        case (.handingOn, .end):
            state = .idle
            handOn(part, context: context)
        case (.handingOn, _):
            handOn(part, context: context)
        case (.reading(var incoming), .body(var chunk)):
            state = .idle  // The buffer is uniquely referenced while it grows.
            let size = (incoming.body?.readableBytes ?? 0) + chunk.readableBytes
            guard size <= responder.maxBodyBytes else { return tooLarge(incoming.head, context: context) }
            if incoming.body == nil { incoming.body = chunk } else { incoming.body!.writeBuffer(&chunk) }
            state = .reading(incoming)
        case (.reading(let incoming), .end):
            state = .idle
            serve(incoming, context: context)
        case (.discarding(let budget), .body(let chunk)):
            state = .discarding(budget: budget - chunk.readableBytes)
            if budget < chunk.readableBytes {
                state = .closing
                lingeringClose(context)
            }
        case (.discarding, .end):
            state = .idle
            if quiescing {
                state = .closing
                context.close(promise: nil)
            }
        case (.closing, _), (.idle, .body), (.idle, .end), (.reading, .head), (.answering, _), (.discarding, .head):
            // Dropped: the connection is closing, or the decoder sent parts out of order (it does not).
            break
        }
    }

    /// Whether this handler serves the request `head` starts (else Hummingbird does).
    private func servesHere(_ head: HTTPRequestHead) -> Bool {
        guard head.uri.utf8.first == UInt8(ascii: "/"), !Self.mentionsHostPaths(head.uri) else { return false }
        if let readiness = responder.readiness, readiness.current != .serving { return false }
        return true
    }

    /// Whether the path of `target` (before any `?`) has `/_plughost` anywhere (the host's own
    /// paths, however spelled).
    static func mentionsHostPaths(_ target: String) -> Bool {
        let marker = hostPathMarker
        var target = target
        return target.withUTF8 { whole in
            let bytes = UnsafeBufferPointer(rebasing: whole[..<(whole.firstIndex(of: UInt8(ascii: "?")) ?? whole.endIndex)])
            guard bytes.count >= marker.count else { return false }
            for start in 0...(bytes.count - marker.count) where bytes[start] == marker[0] && bytes[start + 1] == marker[1] {
                if (0..<marker.count).allSatisfy({ bytes[start + $0] == marker[$0] }) { return true }
            }
            return false
        }
    }

    /// `/_plughost` as bytes, made once (not per request).
    private static let hostPathMarker = Array("/_plughost".utf8)

    /// Starts reading a plugin request: a body larger than the limit is refused before it
    /// is sent when its length is declared; a client that expects `100 Continue` gets it.
    private func begin(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > responder.maxBodyBytes {
            return tooLarge(head, context: context)
        }
        state = .reading(Incoming(head: head, body: nil))
        if expectsContinue(head) {
            startOutput(context)
            ResponseBytes.writeContinue(into: &outputBuffer)
            outputContext?.writeAndFlush(NIOAny(outputBuffer), promise: nil)
        }
    }

    /// Answers 413 at once. The connection stays open while the rest of the body (read and
    /// dropped) is at most ``discardBudget`` bytes; a client waiting for `100 Continue` sends
    /// none, so its connection closes.
    private func tooLarge(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let response = PluginHTTPResponse.hostError(413, "request body too large", ["limit": .number(responder.maxBodyBytes)])
        responder.metrics?.countUnrouted(status: response.status)
        let declared = head.headers.first(name: "content-length").flatMap(Int.init)
        let keepAlive = head.isKeepAlive && !quiescing && !expectsContinue(head) && (declared ?? 0) <= Self.discardBudget
        write(response, to: head, keepAlive: keepAlive, lingering: true, context: context)
        if keepAlive { state = .discarding(budget: Self.discardBudget) }
    }

    /// How many bytes of a refused body are read and dropped to keep its connection.
    static let discardBudget = 1 << 20

    private func expectsContinue(_ head: HTTPRequestHead) -> Bool {
        head.version.major == 1 && head.version.minor >= 1
            && head.headers["expect"].contains { $0.lowercased() == "100-continue" }
    }

    /// Serves a complete plugin request: here when its route runs inline, else on the pool
    /// (or, deferred, wherever its plugin resumes it), answering back on this loop.
    private func serve(_ incoming: Incoming, context: ChannelHandlerContext) {
        let head = incoming.head
        let target = head.uri
        let question = target.utf8.firstIndex(of: UInt8(ascii: "?"))
        let path = question.map { String(target[..<$0]) } ?? target
        if PluginHTTPRequest.hasEmptySegments(path) && PluginHTTPRequest.mergingSlashes(path).hasPrefix(AdminEndpoints.prefix) {
            return finish(head, .hostError(404, "not found"), route: nil, started: nil, context: context)
        }
        let query = question.map { String(target[target.utf8.index(after: $0)...]) } ?? ""
        var body: [UInt8] = []
        if let buffer = incoming.body { body = Array(buffer: buffer) }
        let request = PluginHTTPRequest(method: head.method.rawValue, path: path, query: query,
                                        headers: head.headers.map { ($0.name, $0.value) }, body: body)
        let started = responder.metrics == nil ? nil : ContinuousClock.now
        guard let lease = responder.runtime.leaseCurrentGeneration() else {
            return finish(head, .hostError(503, "no plugins are running"), route: nil, started: started, context: context)
        }
        let generation = lease.generation
        let resolved = generation.endpoints.resolve(request)
        if let calls = responder.calls, !generation.runsInline(resolved) {
            state = .answering
            let answer = answerOnLoop(head, route: resolved.metrics, started: started, context: context)
            return calls.run(request, resolved: resolved, on: lease, connection: context.channel, answer: answer)
        }
        switch generation.serve(request, resolved: resolved) {
        case .done(let response):
            lease.release()
            finish(head, response, route: resolved.metrics, started: started, context: context)
        case .pending(let deferral):
            state = .answering
            let answer = answerOnLoop(head, route: resolved.metrics, started: started, context: context)
            if let calls = responder.calls {
                calls.wait(for: deferral, resolved: resolved, on: lease, connection: context.channel, answer: answer)
            } else {
                deferral.onCompletion { response in
                    lease.release()
                    answer(response)
                }
            }
        }
    }

    /// An answer from any thread, written on this loop; then the requests that waited are served.
    private func answerOnLoop(_ head: HTTPRequestHead, route: RouteMetrics?, started: ContinuousClock.Instant?,
                              context: ChannelHandlerContext) -> @Sendable (PluginHTTPResponse) -> Void {
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        let loop = context.eventLoop
        return { response in
            loop.execute {
                let (handler, context) = bound.value
                guard context.channel.isActive else {
                    // The client left: nobody to answer, and nothing more to serve.
                    handler.state = .closing
                    handler.queued.removeAll()
                    return
                }
                handler.state = .idle
                handler.finish(head, response, route: route, started: started, context: context)
                handler.drain(context: context)
            }
        }
    }

    /// Counts and writes a plugin request's answer.
    private func finish(_ head: HTTPRequestHead, _ response: PluginHTTPResponse, route: RouteMetrics?,
                        started: ContinuousClock.Instant?, context: ChannelHandlerContext) {
        if let metrics = responder.metrics {
            if let route, let started {
                let (seconds, attoseconds) = (ContinuousClock.now - started).components
                route.record(status: response.status, nanoseconds: seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
            } else {
                metrics.countUnrouted(status: response.status)
            }
        }
        write(response, to: head, keepAlive: head.isKeepAlive && !quiescing, context: context)
    }

    /// Serves the parts that waited (for an answer, or for the connection to take writes again)
    /// until one waits again; then deals with what came meanwhile, and reads again if asked.
    private func drain(context: ChannelHandlerContext) {
        let handedOnBefore = handedOnCount
        // Hummingbird's channel delivers what it was handed at the end of a read: this is none.
        defer { if handedOnCount != handedOnBefore { context.fireChannelReadComplete() } }
        while let part = queued.first {
            if isAnswering { return }
            if case .head = part, !context.channel.isWritable { return }
            queued.removeFirst()
            process(part, context: context)
        }
        if isAnswering { return }
        if let error = pendingParseError {
            pendingParseError = nil
            parseError(error, context: context)
        }
        if pendingInputClosed {
            pendingInputClosed = false
            inputClosed(context: context)
        }
        if readHeld && context.channel.isWritable {
            readHeld = false
            context.read()
        }
    }

    // MARK: Writing

    /// Writes `response` to the request `head` began; closes the connection after it unless `keepAlive`
    /// (`lingering`: after the client's unread bytes, see ``lingeringClose(_:)``).
    private func write(_ response: PluginHTTPResponse, to head: HTTPRequestHead, keepAlive: Bool, lingering: Bool = false,
                       context: ChannelHandlerContext) {
        startOutput(context)
        ResponseBytes.write(response, version: head.version, close: !keepAlive, omitBody: head.method == .HEAD,
                            date: dates.current(), server: serverName, into: &outputBuffer)
        headerTimeout.answered(context)
        guard let outputContext else { return }
        if keepAlive {
            outputContext.writeAndFlush(NIOAny(outputBuffer), promise: nil)
        } else {
            state = .closing
            queued.removeAll()
            outputContext.writeAndFlush(NIOAny(outputBuffer)).whenComplete { _ in
                if lingering { self.lingeringClose(context) } else { context.close(promise: nil) }
            }
        }
    }

    /// An empty buffer for the next answer: the connection's own when nothing else holds it,
    /// a new small one after a large answer (a connection does not keep its largest size).
    private func startOutput(_ context: ChannelHandlerContext) {
        if outputBuffer.capacity > Self.keptOutputCapacity {
            outputBuffer = context.channel.allocator.buffer(capacity: 512)
        } else {
            outputBuffer.clear()
        }
    }

    /// The largest answer buffer a connection keeps for reuse.
    static let keptOutputCapacity = 64 * 1024

    /// Closes after a refused body the client is still sending: the writing side first, so
    /// the client reads the answer (closing with unread bytes would reset the connection and
    /// lose it), then the rest after ``lingerTime``; what arrives meanwhile is dropped.
    private func lingeringClose(_ context: ChannelHandlerContext) {
        state = .closing
        context.close(mode: .output, promise: nil)
        context.eventLoop.assumeIsolated().scheduleTask(in: Self.lingerTime) { context.close(promise: nil) }
    }

    /// How long a connection refused a body keeps reading (and dropping) before it closes.
    static let lingerTime = TimeAmount.seconds(2)

    /// A request that did not parse: 400, and the connection closes.
    private func badRequest(context: ChannelHandlerContext) {
        state = .closing
        startOutput(context)
        ResponseBytes.writeBadRequest(into: &outputBuffer)
        guard let outputContext else { return context.close(promise: nil) }
        outputContext.writeAndFlush(NIOAny(outputBuffer)).whenComplete { _ in context.close(promise: nil) }
    }

    /// A request that did not parse: Hummingbird answers it when it holds earlier requests
    /// (after them), else this handler; nothing more is answered on a closing connection.
    private func parseError(_ error: any Error, context: ChannelHandlerContext) {
        if handedOnUnanswered > 0 { return context.fireErrorCaught(error) }
        switch state {
        case .closing: break
        case .discarding: lingeringClose(context)
        default: badRequest(context: context)
        }
    }

    /// The client closed its side: once every answer it waits for is written (a write barrier:
    /// an empty buffer after them), Hummingbird hears it and closes the connection.
    private func inputClosed(context: ChannelHandlerContext) {
        switch state {
        case .reading, .discarding:
            // The request will never be complete.
            state = .closing
            context.close(promise: nil)
        case .closing:
            break
        default:
            guard let outputContext else { return context.fireUserInboundEventTriggered(ChannelEvent.inputClosed) }
            outputContext.writeAndFlush(NIOAny(context.channel.allocator.buffer(capacity: 0))).whenComplete { _ in
                context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            }
        }
    }

    private func handOn(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        handedOnCount &+= 1
        if case .head = part { handedOnUnanswered += 1 }
        context.fireChannelRead(wrapInboundOut(part))
    }

    // MARK: Outbound (Hummingbird's answers) and flow

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            handedOnUnanswered = max(0, handedOnUnanswered - 1)
            headerTimeout.answered(context)
        }
        context.write(data, promise: promise)
    }

    func read(context: ChannelHandlerContext) {
        if isAnswering || !queued.isEmpty || !context.channel.isWritable {
            readHeld = true
        } else {
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { drain(context: context) }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError else { return context.fireErrorCaught(error) }
        if isAnswering || !queued.isEmpty {
            pendingParseError = error
        } else {
            parseError(error, context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            if isAnswering || !queued.isEmpty {
                pendingInputClosed = true
            } else {
                inputClosed(context: context)
            }
            return
        }
        guard event is ChannelShouldQuiesceEvent else { return context.fireUserInboundEventTriggered(event) }
        switch state {
        case .idle, .handingOn:
            // Hummingbird's connection handler closes an idle connection, or one of its own after its answer.
            context.fireUserInboundEventTriggered(event)
        case .reading, .answering, .discarding:
            // The request being read or answered still gets its answer; the connection closes after it.
            quiescing = true
        case .closing:
            break
        }
    }
}

/// The front of a connection's pipeline, where ``RequestServingHandler`` writes
/// its answers' bytes so that they go to the socket directly. Passes
/// everything through.
final class ResponseOutput: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = IOData
}
