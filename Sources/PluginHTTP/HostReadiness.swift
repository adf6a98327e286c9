import Synchronization

/// Where a serving host stands, for `GET /_plughost/ready` and for requests that
/// arrive while its plugins start: the server accepts connections from the
/// start (so probes get an answer), and a plugin request that comes before the
/// plugins run waits for them instead of finding the host empty.
public final class HostReadiness: Sendable {
    /// The phases, in order.
    public enum Phase: UInt8, Sendable {
        /// Plugins are being loaded and started.
        case starting
        /// Started: requests are served.
        case serving
        /// Graceful shutdown began: in-flight requests finish, probes answer 503.
        case stopping
        /// The plugins did not start; the process is ending.
        case failed

        /// As the probe's JSON says it.
        public var name: String {
            switch self {
            case .starting: "starting"
            case .serving: "serving"
            case .stopping: "stopping"
            case .failed: "failed"
            }
        }
    }

    private let phase: Atomic<UInt8>
    private let waiters = Mutex<[CheckedContinuation<Void, Never>]>([])

    /// A host in `phase` (``Phase/serving`` for one whose runtime was started before it serves).
    public init(_ phase: Phase = .starting) {
        self.phase = Atomic(phase.rawValue)
    }

    /// The phase now.
    public var current: Phase { Phase(rawValue: phase.load(ordering: .acquiring)) ?? .failed }

    /// The plugins started: waiting requests go on.
    public func markServing() { move(to: .serving) }
    /// Graceful shutdown began.
    public func markStopping() { move(to: .stopping) }
    /// The plugins did not start: waiting requests are answered 503.
    public func markFailed() { move(to: .failed) }

    /// Returns once the plugins started or will not (then false); at once when they have.
    public func waitUntilStarted() async -> Bool {
        if current != .starting { return current != .failed }
        await withCheckedContinuation { continuation in
            let waitsHere = waiters.withLock { waiters -> Bool in
                // Checked under the lock `move` takes: a phase change cannot slip in between.
                guard current == .starting else { return false }
                waiters.append(continuation)
                return true
            }
            if !waitsHere { continuation.resume() }
        }
        return current != .failed
    }

    private func move(to next: Phase) {
        let woken = waiters.withLock { waiters -> [CheckedContinuation<Void, Never>] in
            // Phases only move forward (a late markServing after a stop changes nothing).
            guard next.rawValue > phase.load(ordering: .relaxed) else { return [] }
            phase.store(next.rawValue, ordering: .releasing)
            defer { waiters = [] }
            return waiters
        }
        woken.forEach { $0.resume() }
    }
}
