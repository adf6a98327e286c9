#if canImport(Glibc)
import Glibc
#endif
import Dispatch
public import Logging
public import PluginRuntime
import Synchronization

/// A worker's end of its control channel (see ``ControlChannel``): takes part
/// in the supervisor's reload rounds, asks for rounds and replacement, hands
/// over what it committed, and answers and asks questions about the whole host.
///
/// In a round the worker prepares with ``PluginRuntime/prepareReload()``, says
/// so, and commits or aborts when the verdict comes (at most the round's
/// deadline, which the supervisor sends, and ``verdictMargin`` later; silence
/// aborts). Nothing waits for the verdict while holding the runtime's lock,
/// and the replaced generation drains after the worker reported.
public final class WorkerLink: Sendable {
    private let channel: ControlChannel
    private let runtime: PluginRuntime
    private let logger: Logger
    /// This worker's figures and listing, for the supervisor's questions.
    private let snapshot: @Sendable () -> WorkerSnapshot
    /// Rounds run one step at a time, off the channel's reading thread.
    private let rounds = DispatchQueue(label: "plughost.reload-round")
    private let prepared = Mutex<(round: Int, reload: PreparedReload?)>((0, nil))
    /// Callers of ``reloadForAdmin()`` waiting for a round that begins after they asked, by number.
    private let waiting = Mutex<(next: Int, waiters: [Int: (after: Int, continuation: CheckedContinuation<ReloadRoundReport?, Never>)])>((0, [:]))
    private let lastPrepare = Mutex<Int>(0)
    private let hostQuestions = Mutex<(next: Int, waiting: [Int: CheckedContinuation<HostSnapshot?, Never>])>((0, [:]))
    private let view = Mutex<SupervisorView?>(nil)

    /// What stops this worker accepting new connections (set by the server once it runs).
    private let stopAccepting = Mutex<(@Sendable () -> Void)?>(nil)
    /// A successor waiting to be told to accept.
    private let acceptGate = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    /// How much longer than the round's deadline a prepared worker waits for commit or abort
    /// before undoing its build (the supervisor's abort comes first).
    public static let verdictMargin: Duration = .seconds(10)
    /// How long a question about the whole host waits for the supervisor's answer.
    public static let hostTimeout: Duration = .seconds(5)

    /// The link over the control channel at `descriptor`.
    public init(descriptor: Int32, runtime: PluginRuntime, logger: Logger, snapshot: @escaping @Sendable () -> WorkerSnapshot) {
        channel = ControlChannel(descriptor: descriptor)
        self.runtime = runtime
        self.logger = logger
        self.snapshot = snapshot
    }

    /// Starts reading the channel on a thread of its own.
    public func start() {
        DispatchQueue(label: "plughost.control").async { [self] in
            while let (message, descriptors) = channel.receive() {
                for descriptor in descriptors { close(descriptor) }
                handle(message)
            }
            logger.warning("the supervisor closed the control channel")
            // Nothing answers from now on: nobody waits for it.
            let waiters = waiting.withLock { state in defer { state.waiters = [:] }; return state.waiters.values }
            for waiter in waiters { waiter.continuation.resume(returning: nil) }
        }
    }

    /// Sets what stops this worker accepting new connections (its listener stops reading; the
    /// connections it has go on), for when a successor takes over the socket.
    public func onQuiesce(_ stop: @escaping @Sendable () -> Void) {
        stopAccepting.withLock { $0 = stop }
    }

    /// A successor: says its plugins run and waits until its predecessor stopped accepting.
    public func waitForTurnToAccept() async {
        channel.send(.readyToServe)
        await withCheckedContinuation { continuation in
            let open = acceptGate.withLock { gate -> Bool in
                if gate.open { return true }
                gate.waiters.append(continuation)
                return false
            }
            if open { continuation.resume() }
        }
    }

    /// Tells the supervisor this worker serves, and hands over what it runs.
    public func announceServing() {
        channel.send(.serving)
        sendCommitted()
    }

    /// Tells the supervisor over the channel at `descriptor` that this worker cannot start,
    /// before any link exists (its config does not load, say).
    public static func refuseStart(descriptor: Int32, _ reason: String, permanent: Bool) {
        ControlChannel(descriptor: descriptor).send(.startRefused(reason: reason, permanent: permanent))
    }

    /// Tells the supervisor this worker cannot start (before it exits).
    public func refuseStart(_ reason: String, permanent: Bool) {
        channel.send(.startRefused(reason: reason, permanent: permanent))
    }

    /// Asks the supervisor for a reload round and returns at once (signals, file watcher).
    public func askForReload() {
        channel.send(.askReload)
    }

    /// Asks to be replaced, the successor first.
    public func askReplacement(_ reason: ReplacementReason) {
        channel.send(.replaceMe(reason: reason))
    }

    /// Asks for a round and returns the report of a round that began after this call; nil when
    /// none came within the round deadline of this worker's config (the host is stopping, this
    /// worker is being replaced, or the supervisor is gone).
    public func reloadForAdmin() async -> ReloadRoundReport? {
        // The newest round this worker knows of: the supervisor's view names every round as it begins.
        let after = max(lastPrepare.withLock { $0 }, view.withLock { $0?.reloadRounds ?? 0 })
        let timeout = SupervisorStateMachine.Configuration.roundDeadline(for: runtime.config) + Self.verdictMargin
        return await withCheckedContinuation { continuation in
            let id = waiting.withLock { state -> Int in
                state.next += 1
                state.waiters[state.next] = (after, continuation)
                return state.next
            }
            channel.send(.askReload)
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(timeout.wholeMilliseconds))) { [self] in
                let late = waiting.withLock { $0.waiters.removeValue(forKey: id) }
                late?.continuation.resume(returning: nil)
            }
        }
    }

    /// The whole host's figures and listings, or nil when the supervisor did not answer in time.
    public func hostSnapshot() async -> HostSnapshot? {
        await withCheckedContinuation { continuation in
            let request = hostQuestions.withLock { state -> Int in
                state.next += 1
                state.waiting[state.next] = continuation
                return state.next
            }
            channel.send(.askHost(request: request))
            DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(Int(Self.hostTimeout.components.seconds))) { [self] in
                let late = hostQuestions.withLock { $0.waiting.removeValue(forKey: request) }
                late?.resume(returning: nil)
            }
        }
    }

    /// The supervisor's last view.
    public var supervisorView: SupervisorView? { view.withLock { $0 } }

    /// Undoes a prepared reload that still waits for its verdict (the worker is stopping).
    public func abandonRound() {
        rounds.sync {
            let reload = prepared.withLock { state in defer { state.reload = nil }; return state.reload }
            if let reload { _ = reload.abort("the worker is shutting down") }
        }
    }

    private func handle(_ message: ControlMessage) {
        switch message {
        case .prepare(let round, let verdictWithin):
            lastPrepare.withLock { $0 = max($0, round) }
            rounds.async { [self] in prepare(round, verdictWithin: verdictWithin + Self.verdictMargin) }
        case .commit(let round):
            rounds.async { [self] in decide(round, commit: true, reason: "") }
        case .abort(let round, let reason):
            rounds.async { [self] in decide(round, commit: false, reason: reason) }
        case .roundFinished(let round, let report):
            let ready = waiting.withLock { state in
                let ready = state.waiters.filter { $0.value.after < round }
                for id in ready.keys { state.waiters.removeValue(forKey: id) }
                return ready.values
            }
            for waiter in ready { waiter.continuation.resume(returning: report) }
        case .view(let newView):
            view.withLock { $0 = newView }
        case .collect(let request):
            channel.send(.snapshot(request: request, snapshot()))
        case .host(let request, let host):
            let waiter = hostQuestions.withLock { $0.waiting.removeValue(forKey: request) }
            waiter?.resume(returning: host)
        case .quiesce:
            stopAccepting.withLock { $0 }?()
            channel.send(.quiesced)
        case .acceptConnections:
            let waiters = acceptGate.withLock { gate in
                gate.open = true
                defer { gate.waiters = [] }
                return gate.waiters
            }
            for waiter in waiters { waiter.resume() }
        default:
            logger.warning("the supervisor sent a message only workers send")
        }
    }

    /// Builds round `round`'s generation and says prepared (or reports at once what refused it);
    /// undoes it when no verdict came within `timeout`.
    private func prepare(_ round: Int, verdictWithin timeout: Duration) {
        let reload = runtime.prepareReload()
        guard reload.awaitsVerdict else {
            channel.send(.finished(round: round, report: reload.report))
            return
        }
        prepared.withLock { $0 = (round, reload) }
        channel.send(.prepared(round: round))
        rounds.asyncAfter(deadline: .now() + .milliseconds(Int(timeout.wholeMilliseconds))) { [self] in
            decide(round, commit: false, reason: "no verdict from the supervisor within \(timeout)")
        }
    }

    /// Commits or aborts round `round`'s prepared reload (once; later verdicts find nothing).
    private func decide(_ round: Int, commit: Bool, reason: String) {
        let reload = prepared.withLock { state -> PreparedReload? in
            guard state.round == round, let reload = state.reload else { return nil }
            state.reload = nil
            return reload
        }
        guard let reload else { return }
        let report = commit ? reload.commit() : reload.abort(reason)
        channel.send(.finished(round: round, report: report))
        if report.succeeded { sendCommitted() }
        // The replaced generation drains on the reload's own thread, after the supervisor heard the outcome.
    }

    /// Hands the supervisor the bytes of what this worker runs now, for replacements.
    private func sendCommitted() {
        guard let sources = runtime.committedSources() else { return }
        guard let descriptor = CommittedBuilds.write(sources) else {
            logger.warning("cannot keep the committed builds for replacement workers: \(String(cString: strerror(errno)))")
            return
        }
        defer { close(descriptor) }
        channel.send(.committed(builds: CommittedBuilds.builds(of: sources)), descriptors: [descriptor])
    }
}
