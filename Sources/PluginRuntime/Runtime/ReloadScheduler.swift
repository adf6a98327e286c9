import Dispatch
import Synchronization

/// Runs reloads of a ``PluginRuntime`` one at a time on a thread of their own,
/// coalescing requests: however many arrive while a reload runs (signals sent
/// back to back, several `POST /_plughost/reload`), exactly one more reload
/// follows, and every caller waiting gets its report.
public final class ReloadScheduler: Sendable {
    private struct State {
        var running = false
        var pending = false
        var waiting: [CheckedContinuation<ReloadReport, Never>] = []
    }

    /// The runtime reloaded.
    public let runtime: PluginRuntime
    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "plughost.reload")
    private let onReload: @Sendable (ReloadReport) -> Void
    /// Runs one reload: `runtime.reload()`, or a stand-in that tests hold at a gate.
    private let perform: @Sendable () -> ReloadReport

    /// Creates a scheduler for `runtime`.
    /// - Parameter onReload: Called on the reload thread after each reload (to record the outcome somewhere).
    public convenience init(runtime: PluginRuntime, onReload: @escaping @Sendable (ReloadReport) -> Void = { _ in }) {
        self.init(runtime: runtime, onReload: onReload, performing: { runtime.reload() })
    }

    /// Creates a scheduler whose reloads run `perform` (tests hold it at a gate to make coalescing deterministic).
    init(runtime: PluginRuntime, onReload: @escaping @Sendable (ReloadReport) -> Void, performing perform: @escaping @Sendable () -> ReloadReport) {
        self.runtime = runtime
        self.onReload = onReload
        self.perform = perform
    }

    /// Asks for a reload and returns at once (for signal handlers and file watchers).
    public func requestReload() {
        enqueue(nil)
    }

    /// Asks for a reload and returns the report of a reload that began after this call.
    public func reload() async -> ReloadReport {
        await withCheckedContinuation { enqueue($0) }
    }

    /// Callers of ``reload()`` waiting for a reload to begin (for tests).
    var waitingCallers: Int { state.withLock { $0.waiting.count } }

    private func enqueue(_ waiter: CheckedContinuation<ReloadReport, Never>?) {
        let startsLoop = state.withLock { state in
            if let waiter { state.waiting.append(waiter) } else { state.pending = true }
            if state.running { return false }
            state.running = true
            return true
        }
        if startsLoop { queue.async { self.drainRequests() } }
    }

    /// Reloads while requests are pending; each reload answers every request that arrived before it began.
    private func drainRequests() {
        while true {
            let batch = state.withLock { state -> [CheckedContinuation<ReloadReport, Never>]? in
                guard state.pending || !state.waiting.isEmpty else {
                    state.running = false
                    return nil
                }
                let batch = state.waiting
                state.waiting = []
                state.pending = false
                return batch
            }
            guard let batch else { return }
            let report = perform()
            onReload(report)
            for waiter in batch { waiter.resume(returning: report) }
        }
    }
}
