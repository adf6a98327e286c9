#if canImport(Glibc)
import Glibc
#endif
import Dispatch
public import Logging
import NIOPosix
public import PluginRuntime
public import NIOCore
import Synchronization

/// Where the plugin work of requests runs when it may block: a pool of threads
/// of its own, so a plugin that sleeps, waits for I/O or hangs holds one of
/// these threads and never one of the threads that serve connections.
///
/// - **Bulkhead.** Each plugin (the one whose endpoint serves the request) runs
///   at most ``Limits/perPlugin`` calls at once; further requests wait in its
///   queue without holding a thread, and past ``Limits/queue`` waiting ones
///   are answered 503 naming the plugin. One plugin's slow calls cannot take the
///   threads others need (keep `perPlugin` below `threads`).
/// - **Deadline.** A request whose plugin work (waiting included) takes longer
///   than its timeout is answered 504 naming the plugin; the call itself runs
///   on (a thread cannot be stopped safely) and its result is dropped.
/// - **Hangs.** A call still running after ``Limits/hangKill`` is reported once
///   to `onHang` (`plughost serve` journals it and replaces the worker).
///
/// Routes whose plugins all declare `PH_PLUGIN_NEVER_BLOCKS` skip the pool.
public final class PluginCallPool: Sendable {
    /// The pool's sizes and time limits (from `[host]` and `[request-timeouts]`).
    public struct Limits: Sendable {
        /// Threads that run plugin calls.
        public var threads: Int
        /// Calls one plugin may run at once.
        public var perPlugin: Int
        /// Requests that may wait for one plugin.
        public var queue: Int
        /// Longest plugin work of a request before a 504.
        public var timeout: Duration
        /// Per-endpoint timeouts by "METHOD /pattern".
        public var endpointTimeouts: [String: Duration]
        /// A call running this long is a hang.
        public var hangKill: Duration

        /// The limits `config` sets.
        public init(_ config: HostConfig) {
            let config = HTTPServerConfig(config)
            threads = config.pluginThreads
            perPlugin = config.pluginConcurrency
            queue = config.pluginQueue
            timeout = config.requestTimeout
            endpointTimeouts = config.endpointTimeouts
            hangKill = config.hangKill
        }
    }

    /// A call that ran past ``Limits/hangKill``.
    public struct Hang: Sendable {
        /// The plugin whose endpoint the request was for.
        public let owner: PluginOwner
        /// "METHOD /pattern".
        public let endpoint: String
        /// The thread stuck in the call (its `pthread_t`).
        public let thread: UInt
        /// How long it had run when noticed.
        public let elapsed: Duration
    }

    private let limits: Limits
    private let threads: NIOThreadPool
    private let logger: Logger
    private let onHang: @Sendable (Hang) -> Void
    private let beforeCall: @Sendable () -> Void
    private let calls = Mutex<[UInt64: PendingCall]>([:])
    private let nextID = Atomic<UInt64>(0)
    private let bulkheads = Mutex<[ObjectIdentifier: Bulkhead]>([:])
    private let watching = Atomic<Bool>(true)

    /// Starts the pool's threads and its watchdog.
    /// - Parameters:
    ///   - beforeCall: Runs on the pool thread before each call (for example to let a hang be sampled there).
    ///   - onHang: Called on the watchdog's thread, once per call that runs past ``Limits/hangKill``.
    public init(limits: Limits, logger: Logger, beforeCall: @escaping @Sendable () -> Void = {},
                onHang: @escaping @Sendable (Hang) -> Void = { _ in }) {
        self.limits = limits
        self.logger = logger
        self.onHang = onHang
        self.beforeCall = beforeCall
        threads = NIOThreadPool(numberOfThreads: limits.threads)
        threads.start()
        DispatchQueue(label: "plughost.watchdog").async { [self] in watch() }
    }

    /// Stops the watchdog and asks the threads to end once their calls return, without
    /// waiting for them (a hung call would keep the caller waiting for ever; the
    /// process's exit ends it).
    public func shutdown() {
        watching.store(false, ordering: .relaxed)
        threads.shutdownGracefully(queue: DispatchQueue(label: "plughost.pool-shutdown")) { _ in }
    }

    /// Runs `request`'s chain on `lease`'s generation in the pool, within its plugin's
    /// bulkhead and its deadline; releases the lease once the plugin work is over.
    /// - Parameter connection: When it is no longer active while the request is deferred, the request is given up.
    public func run(_ request: PluginHTTPRequest, resolved: ResolvedRequest, on lease: GenerationLease,
                    connection: (any Channel)? = nil) async -> PluginHTTPResponse {
        await withCheckedContinuation { continuation in
            run(request, resolved: resolved, on: lease, connection: connection) { continuation.resume(returning: $0) }
        }
    }

    /// As ``run(_:resolved:on:connection:)``, answering through `answer` (called once, on
    /// whichever thread answers: a pool thread, the watchdog's, or a plugin's `resume`).
    public func run(_ request: PluginHTTPRequest, resolved: ResolvedRequest, on lease: GenerationLease,
                    connection: (any Channel)?, answer: @escaping @Sendable (PluginHTTPResponse) -> Void) {
        guard let owner = resolved.owner else {
            // The host's own answer; its request events may reach plugins that block: on a pool thread too.
            return detached {
                answer(lease.generation.handle(request, resolved: resolved))
                lease.release()
            }
        }
        let call = watch(answer, owner: owner, resolved: resolved, lease: lease, connection: connection)
        let job = Job { [self] state in
            // Timed out while it waited, or the pool is shutting down: no plugin code runs.
            guard state == .active, call.begin() else {
                call.answer(.hostError(503, "shutting down"))
                call.finish()
                return
            }
            beforeCall()
            switch lease.generation.serve(request, resolved: resolved) {
            case .done(let response):
                call.answer(response)
                call.finish()
            case .pending(let deferral):
                call.deferred(deferral)
            }
        }
        // Found and entered under one lock: the watchdog's pruning of idle bulkheads cannot come between.
        let (bulkhead, entry) = bulkheads.withLock { bulkheads in
            let bulkhead = bulkheads[ObjectIdentifier(owner)] ?? Bulkhead(owner: owner)
            bulkheads[ObjectIdentifier(owner)] = bulkhead
            return (bulkhead, bulkhead.enter(job, queueLimit: limits.queue, perPlugin: limits.perPlugin))
        }
        switch entry {
        case .run:
            submit(job, in: bulkhead)
        case .queued:
            break
        case .full:
            call.finish()
            owner.logger.warning("\(call.endpoint): \(limits.perPlugin) calls running and \(limits.queue) waiting: answered 503")
            call.answer(.hostError(503, "plugin busy", ["plugin": .text(owner.alias), "running": .number(limits.perPlugin), "waiting": .number(limits.queue)]))
        }
    }

    /// Waits for a request a plugin deferred on the calling thread (a route of plugins that
    /// never block): no thread is held; its deadline applies as in ``run(_:resolved:on:connection:)``.
    public func wait(for deferral: Deferral, resolved: ResolvedRequest, on lease: GenerationLease,
                     connection: (any Channel)? = nil) async -> PluginHTTPResponse {
        await withCheckedContinuation { continuation in
            wait(for: deferral, resolved: resolved, on: lease, connection: connection) { continuation.resume(returning: $0) }
        }
    }

    /// As ``wait(for:resolved:on:connection:)``, answering through `answer` (called once).
    public func wait(for deferral: Deferral, resolved: ResolvedRequest, on lease: GenerationLease,
                     connection: (any Channel)?, answer: @escaping @Sendable (PluginHTTPResponse) -> Void) {
        let call = watch(answer, owner: resolved.owner ?? deferral.owner, resolved: resolved, lease: lease, connection: connection)
        call.deferred(deferral)
    }

    /// Runs `work` on the pool, outside any bulkhead and deadline (events whose subscribers may block).
    public func detached(_ work: @escaping @Sendable () -> Void) {
        threads.submit { _ in
            self.beforeCall()
            work()
        }
    }

    /// A call for the watchdog: answered through `answer`, under its endpoint's deadline;
    /// once its plugin work is over (or a deferred request is given up) it releases `lease`.
    private func watch(_ answer: @escaping @Sendable (PluginHTTPResponse) -> Void, owner: PluginOwner,
                       resolved: ResolvedRequest, lease: GenerationLease, connection: (any Channel)?) -> PendingCall {
        let endpoint = resolved.endpoint ?? "?"
        let timeout = limits.endpointTimeouts[endpoint] ?? limits.timeout
        let id = nextID.add(1, ordering: .relaxed).newValue
        let call = PendingCall(answer: answer, owner: owner, endpoint: endpoint,
                               deadline: .now + timeout, timeout: timeout, connection: connection) { [self] in
            lease.release()
            calls.withLock { _ = $0.removeValue(forKey: id) }
        }
        calls.withLock { $0[id] = call }
        return call
    }

    /// Runs `job` on a pool thread; when its call returns (deferred or not: a deferred request
    /// holds neither thread nor slot) the plugin's next waiting job takes the slot.
    private func submit(_ job: Job, in bulkhead: Bulkhead) {
        threads.submit { [self] state in
            job.body(state)
            if let next = bulkhead.leave() { submit(next, in: bulkhead) }
        }
    }

    /// Every 5 ms: answers calls past their deadline with 504, reports calls past the hang limit once;
    /// every second forgets the bulkheads of plugins with nothing running or waiting.
    private func watch() {
        var rounds = 0
        while watching.load(ordering: .relaxed) {
            usleep(5_000)
            rounds += 1
            if rounds.isMultiple(of: 200) { bulkheads.withLock { $0 = $0.filter { !$0.value.isIdle } } }
            let now = ContinuousClock.now
            var late: [PendingCall] = []
            var hung: [Hang] = []
            var abandoned: [PendingCall] = []
            calls.withLock { calls in
                for call in calls.values {
                    if call.deadline <= now && !call.isAnswered { late.append(call) }
                    if let hang = call.hang(now: now, limit: limits.hangKill) { hung.append(hang) }
                    // Polled here rather than a callback per request: no hop to the event loop.
                    if call.connectionLost { abandoned.append(call) }
                }
            }
            for call in abandoned { call.clientLeft() }
            for call in late {
                let milliseconds = call.timeout.wholeMilliseconds
                if call.answer(.hostError(504, "plugin timed out", ["plugin": .text(call.owner.alias), "endpoint": .text(call.endpoint),
                                                   "timeout_ms": .number(Int(milliseconds))])) {
                    call.owner.logger.error("\(call.endpoint): no answer within \(milliseconds) ms: answered 504")
                }
                // A deferred request holds no thread: giving up on it ends it here (its plugin's
                // `resume` will answer PH_ERR_CANCELLED). A call still running ends when it returns.
                call.giveUpIfDeferred()
            }
            for hang in hung { onHang(hang) }
        }
    }
}

/// A job for the pool's threads.
private final class Job: Sendable {
    let body: @Sendable (NIOThreadPool.WorkItemState) -> Void
    init(_ body: @escaping @Sendable (NIOThreadPool.WorkItemState) -> Void) { self.body = body }
}

/// One plugin's bulkhead: how many of its calls run, and the ones waiting.
private final class Bulkhead: Sendable {
    enum Entry { case run, queued, full }
    let owner: PluginOwner
    private let state = Mutex<(running: Int, waiting: [Job])>((0, []))

    init(owner: PluginOwner) { self.owner = owner }

    /// Runs `job` now if the plugin has a free slot, queues it if its queue has room.
    func enter(_ job: Job, queueLimit: Int, perPlugin: Int) -> Entry {
        state.withLock { state in
            if state.running < perPlugin {
                state.running += 1
                return .run
            }
            guard state.waiting.count < queueLimit else { return .full }
            state.waiting.append(job)
            return .queued
        }
    }

    /// Nothing runs or waits.
    var isIdle: Bool { state.withLock { $0.running == 0 && $0.waiting.isEmpty } }

    /// A call ended: the next waiting job takes its slot.
    func leave() -> Job? {
        state.withLock { state in
            if state.waiting.isEmpty {
                state.running -= 1
                return nil
            }
            return state.waiting.removeFirst()
        }
    }
}

/// A request waiting for its plugin work: answered exactly once, by the work,
/// the watchdog (504) or the bulkhead (503).
private final class PendingCall: Sendable {
    let owner: PluginOwner
    let endpoint: String
    let deadline: ContinuousClock.Instant
    let timeout: Duration
    private struct State {
        /// Answers the request; nil once it was answered.
        var answer: (@Sendable (PluginHTTPResponse) -> Void)?
        var started: ContinuousClock.Instant?
        var thread: pthread_t?
        var hangReported = false
        /// The plugin deferred the request: no thread runs it.
        var deferral: Deferral?
        var finished = false
    }
    private let state: Mutex<State>
    /// Releases what the call holds (its generation, its place in the watchdog's list).
    private let release: @Sendable () -> Void

    init(answer: @escaping @Sendable (PluginHTTPResponse) -> Void, owner: PluginOwner, endpoint: String,
         deadline: ContinuousClock.Instant, timeout: Duration, connection: (any Channel)?,
         release: @escaping @Sendable () -> Void) {
        state = Mutex(State(answer: answer))
        self.owner = owner
        self.endpoint = endpoint
        self.deadline = deadline
        self.timeout = timeout
        self.release = release
        self.connection = connection
    }

    /// The client's connection (`isActive` may be read from any thread).
    private let connection: (any Channel)?

    /// The request is deferred and its client's connection is gone.
    var connectionLost: Bool {
        guard let connection, !connection.isActive else { return false }
        return state.withLock { $0.deferral != nil && !$0.finished }
    }

    /// The plugin work is over: releases what the call holds, once.
    func finish() {
        let first = state.withLock { state -> Bool in
            defer { state.finished = true }
            return !state.finished
        }
        if first { release() }
    }

    /// The plugin deferred the request: it holds no thread now; its response comes with its `resume`.
    func deferred(_ deferral: Deferral) {
        state.withLock { state in
            state.deferral = deferral
            state.started = nil
            state.thread = nil
        }
        deferral.onCompletion { [self] response in
            answer(response)
            finish()
        }
    }

    /// The client closed the connection: a deferred request is given up (nobody is there to answer).
    func clientLeft() {
        guard state.withLock({ $0.deferral != nil && !$0.finished }) else { return }
        answer(.hostError(499, "client closed the connection"))
        giveUpIfDeferred()
    }

    /// After a timeout: a deferred request is given up (its plugin will hear PH_ERR_CANCELLED) and ended.
    func giveUpIfDeferred() {
        guard let deferral = state.withLock({ $0.deferral }) else { return }
        deferral.cancel()
        finish()
    }

    var isAnswered: Bool { state.withLock { $0.answer == nil } }

    /// Marks the call started on this thread; false when it was already answered (timed out waiting).
    func begin() -> Bool {
        state.withLock { state in
            guard state.answer != nil else { return false }
            state.started = .now
            state.thread = pthread_self()
            return true
        }
    }

    /// Answers the request unless it was answered already; whether this did.
    @discardableResult
    func answer(_ response: PluginHTTPResponse) -> Bool {
        let answer = state.withLock { state in
            defer { state.answer = nil }
            return state.answer
        }
        answer?(response)
        return answer != nil
    }

    /// The hang to report, once, if the call has run past `limit`.
    func hang(now: ContinuousClock.Instant, limit: Duration) -> PluginCallPool.Hang? {
        state.withLock { state in
            guard !state.hangReported, let started = state.started, let thread = state.thread, now - started >= limit else { return nil }
            state.hangReported = true
            return PluginCallPool.Hang(owner: owner, endpoint: endpoint, thread: UInt(thread), elapsed: now - started)
        }
    }
}
