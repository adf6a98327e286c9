#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Logging
import PluginHTTP
import PluginRuntime
import Synchronization

/// A worker's end of its control channel (see ``ControlChannel``): takes part in
/// the supervisor's reload rounds, asks for rounds, and keeps the supervisor's
/// view for `/_plughost/plugins`.
///
/// In a round the worker runs `runtime.reload(gate:)`: once the new generation is
/// built and started off to the side, the gate says "prepared" and waits for the
/// supervisor's verdict (commit or abort, at most ``verdictTimeout``; silence aborts).
final class SupervisorLink: HostControl, @unchecked Sendable {
    // @unchecked Sendable: the mutable state is behind Mutexes; the rest is immutable.

    private let channel: ControlChannel
    private let runtime: PluginRuntime
    private let logger: Logger
    /// Called after each round this worker took part in, with its own report.
    private let afterReload: @Sendable (ReloadReport) -> Void
    private let reloads = DispatchQueue(label: "plughost.reload-round")
    /// The verdict of the round being prepared, once it came.
    private let verdict = Mutex<(round: Int, verdict: ReloadGateVerdict?)>((0, nil))
    private let verdictArrived = DispatchSemaphore(value: 0)
    /// Callers of ``reloadForAdmin()`` waiting for a result, with the last round that had begun when they asked.
    private let waiting = Mutex<[(after: Int, continuation: CheckedContinuation<(succeeded: Bool, json: String), Never>)]>([])
    private let lastPrepare = Mutex<Int>(0)
    private let view = Mutex<String?>(nil)

    /// How long a prepared worker waits for commit or abort before undoing its build.
    static let verdictTimeout: Duration = .seconds(120)

    init(descriptor: Int32, runtime: PluginRuntime, logger: Logger, afterReload: @escaping @Sendable (ReloadReport) -> Void) {
        channel = ControlChannel(descriptor: descriptor)
        self.runtime = runtime
        self.logger = logger
        self.afterReload = afterReload
    }

    /// Starts reading the channel on a thread of its own.
    func start() {
        DispatchQueue(label: "plughost.control").async { [self] in
            while let message = channel.receive() { handle(message) }
            logger.warning("the supervisor closed the control channel")
        }
    }

    /// Tells the supervisor this worker serves (a successor's predecessor may now drain).
    func announceServing() {
        channel.send("serving")
    }

    /// Asks the supervisor for a reload round and returns at once (signals, file watcher).
    func askForReload() {
        channel.send("reload")
    }

    /// Asks for a round and returns the combined report of a round that began after this call.
    func reloadForAdmin() async -> (succeeded: Bool, json: String) {
        await withCheckedContinuation { continuation in
            let after = lastPrepare.withLock { $0 }
            waiting.withLock { $0.append((after, continuation)) }
            channel.send("reload")
        }
    }

    /// The supervisor's last view.
    var supervisorView: String? { view.withLock { $0 } }

    private func handle(_ message: (verb: String, text: String)) {
        switch message.verb {
        case "prepare":
            guard let (round, _) = roundAndRest(message.text) else { return }
            lastPrepare.withLock { $0 = max($0, round) }
            verdict.withLock { $0 = (round, nil) }
            reloads.async { [self] in takePart(in: round) }
        case "commit", "abort":
            guard let (round, reason) = roundAndRest(message.text) else { return }
            let answer: ReloadGateVerdict = message.verb == "commit" ? .swap : .refuse(reason.isEmpty ? "another worker failed" : reason)
            let matches = verdict.withLock { state -> Bool in
                guard state.round == round else { return false }
                state.verdict = answer
                return true
            }
            if matches { verdictArrived.signal() }
        case "result":
            guard let (round, json) = roundAndRest(message.text) else { return }
            let succeeded = json.contains(#""succeeded":true"#)
            let ready = waiting.withLock { waiting in
                let ready = waiting.filter { $0.after < round }
                waiting.removeAll { $0.after < round }
                return ready
            }
            for waiter in ready { waiter.continuation.resume(returning: (succeeded, json)) }
        case "view":
            view.withLock { $0 = message.text }
        default:
            logger.warning("unknown message from the supervisor: '\(message.verb)'")
        }
    }

    /// Runs this worker's part of round `round`: build, say prepared, wait for the verdict, swap or undo.
    private func takePart(in round: Int) {
        var reachedGate = false
        let report = runtime.reload { [self] _ in
            reachedGate = true
            channel.send("prepared", String(round))
            return awaitVerdict(round)
        }
        channel.send(reachedGate ? "done" : "refused", "\(round) \(report.json)")
        afterReload(report)
    }

    private func awaitVerdict(_ round: Int) -> ReloadGateVerdict {
        let deadline = ContinuousClock.now + Self.verdictTimeout
        while ContinuousClock.now < deadline {
            if let answer = verdict.withLock({ $0.round == round ? $0.verdict : nil }) { return answer }
            _ = verdictArrived.wait(timeout: .now() + .milliseconds(200))
        }
        return .refuse("no verdict from the supervisor within \(Self.verdictTimeout)")
    }
}
