import Dispatch
import Synchronization

/// A reload whose first phase ran (``PluginRuntime/prepareReload()``): either
/// already decided (refused, or nothing to build), or built and started off to
/// the side, waiting for ``commit()`` or ``abort(_:)``.
///
/// Exactly one of `commit` and `abort` decides a reload that
/// ``awaitsVerdict``; later calls return the report they returned. While it
/// waits, no other start, reload or shutdown of the runtime begins.
public final class PreparedReload: Sendable {
    /// Where the reload stands.
    enum Stage: @unchecked Sendable {
        // @unchecked Sendable: the build and generation are touched only by the thread
        // that holds the runtime's operation token (prepare, then commit or abort).
        /// Refused, or finished: the report is final.
        case decided(ReloadReport)
        /// Nothing to rebuild: committing takes the new config only.
        case keepAsIs(ReloadInputs)
        /// Built and started off to the side; `current` serves.
        case built(ReloadBuild, Generation, ReloadInputs, current: Generation)
    }

    /// The drain that follows a commit.
    private enum Drain {
        /// None (not committed, or nothing replaced).
        case none
        /// The replaced generation drains on a thread of its own.
        case running
        /// Drained; the decided report has its figures.
        case done
    }

    private struct State {
        var stage: Stage
        var attempt: ReloadAttempt
        /// A commit or abort is deciding (its callers wait for it; later ones get its report).
        var deciding = false
        var drain = Drain.none
    }

    private let runtime: PluginRuntime
    private let state: Mutex<State>
    /// Signalled once the verdict is in, and once the drain ended (each waiter passes it on).
    private let decided = DispatchSemaphore(value: 0)
    private let drainEnded = DispatchSemaphore(value: 0)

    init(runtime: PluginRuntime, stage: Stage, attempt: ReloadAttempt) {
        self.runtime = runtime
        state = Mutex(State(stage: stage, attempt: attempt))
    }

    /// A reload dropped while it awaits a verdict is aborted: its build undone and the runtime's
    /// next start, reload or shutdown no longer waits for it.
    deinit {
        if awaitsVerdict { abort("dropped without a verdict") }
    }

    /// Whether ``commit()`` or ``abort(_:)`` still has to decide.
    public var awaitsVerdict: Bool {
        state.withLock { if case .decided = $0.stage { false } else { true } }
    }

    /// The report so far: the final one once decided (with the drain's
    /// figures once drained); before that, what the build did (`succeeded`
    /// false until the swap).
    public var report: ReloadReport {
        state.withLock { state in
            if case .decided(let report) = state.stage { return report }
            return state.attempt.report
        }
    }

    /// Swaps the new generation in (or takes the new config when nothing
    /// changed) and returns the report. The replaced generation then drains in
    /// the background (see ``waitForDrain()``); the runtime's next start, reload
    /// or shutdown waits for that drain.
    @discardableResult
    public func commit() -> ReloadReport {
        decide { stage, attempt, runtime in
            switch stage {
            case .decided(let report):
                return (report, nil)
            case .keepAsIs(let inputs):
                let report = runtime.control.withLock { phase -> ReloadReport in
                    guard case .running(var running) = phase else { return attempt.refused(Self.notRunning(runtime)) }
                    let report = runtime.keepAsIs(inputs, &running, attempt)
                    phase = .running(running)
                    return report
                }
                return (report, nil)
            case .built(let build, let generation, let inputs, let current):
                var attempt = attempt
                let retirement = runtime.control.withLock { phase -> Retirement? in
                    guard case .running(var running) = phase else { return nil }
                    let retirement = runtime.commitAlone(build, generation, inputs, current: current, &running, &attempt)
                    phase = .running(running)
                    return retirement
                }
                guard let retirement else {
                    return (runtime.refuse(ReloadRefusal(Self.notRunning(runtime)), attempt, current: current, undoing: build,
                                           assembled: generation), nil)
                }
                return (attempt.report, retirement)
            }
        }
    }

    /// Undoes the build (the old generation keeps serving) and returns the
    /// report, which names `reason` as the reload's problem.
    @discardableResult
    public func abort(_ reason: String) -> ReloadReport {
        decide { stage, attempt, runtime in
            let refusal = ReloadRefusal([PluginError(.reloadRefused, file: runtime.pluginsDirectory, reason: reason)])
            switch stage {
            case .decided(let report):
                return (report, nil)
            case .keepAsIs:
                let current = runtime.generation
                current?.publish(.reloadFailed, text: refusal.problems.map(\.description).joined(separator: "; "))
                return (attempt.refused(refusal.problems), nil)
            case .built(let build, let generation, _, let current):
                return (runtime.refuse(refusal, attempt, current: current, undoing: build, assembled: generation), nil)
            }
        }
    }

    /// Waits until the generation a commit replaced has drained and its plugins
    /// are retired; returns the final report, with the drain's figures.
    /// Returns at once for a reload that had nothing to drain.
    public func waitForDrain() -> ReloadReport {
        if state.withLock({ $0.drain == .running }) {
            drainEnded.wait()
            drainEnded.signal()
        }
        return report
    }

    /// Decides the reload with `body` once, records the report, and then runs
    /// the drain (if any) on a thread of its own, releasing the runtime's
    /// operation token when everything is done. A second caller while the
    /// first decides waits for it and returns its report.
    private func decide(_ body: (Stage, ReloadAttempt, PluginRuntime) -> (ReloadReport, Retirement?)) -> ReloadReport {
        let claimed = state.withLock { state -> (Stage, ReloadAttempt)? in
            if case .decided = state.stage { return nil }
            if state.deciding { return nil }
            state.deciding = true
            return (state.stage, state.attempt)
        }
        guard let (stage, attempt) = claimed else {
            if awaitsVerdict {
                decided.wait()
                decided.signal()
            }
            return report
        }
        let (decidedReport, retirement) = body(stage, attempt, runtime)
        let report = runtime.record(decidedReport)
        state.withLock {
            $0.stage = .decided(report)
            $0.drain = retirement == nil ? .none : .running
        }
        decided.signal()
        guard let retirement else {
            runtime.operations.signal()
            return report
        }
        let clock = ContinuousClock()
        DispatchQueue(label: "plughost.drain").async { [self, runtime] in
            let began = clock.now
            let drained = runtime.retire(retirement)
            var final = report
            final.drainTime = clock.now - began
            final.drainTimedOut = !drained
            final.retainedSwiftImages = runtime.retainedSwiftImages
            state.withLock {
                $0.stage = .decided(final)
                $0.drain = .done
            }
            runtime.recordDrain(of: final)
            runtime.operations.signal()
            drainEnded.signal()
        }
        return report
    }

    private static func notRunning(_ runtime: PluginRuntime) -> [PluginError] {
        [PluginError(.reloadRefused, file: runtime.pluginsDirectory, reason: "the runtime is not running")]
    }
}
