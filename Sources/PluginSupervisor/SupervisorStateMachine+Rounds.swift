import Logging
import PluginRuntime

/// Reload rounds: prepare everywhere, then commit everywhere, or abort
/// everywhere when one worker failed, died or hung. The first worker prepares
/// alone (a canary): a new build that crashes or hangs in `create` or `start`
/// then costs one worker, not all of them at once. A reload asked for during
/// a round runs once more after it.
extension SupervisorStateMachine {
    /// One round: where each worker stands.
    struct RoundState: Sendable {
        /// Where one worker stands in the round.
        enum Phase: Sendable {
            /// Waits for the canary: asked once the first worker prepared.
            case waiting
            /// Asked to prepare; no answer yet.
            case preparing
            /// Built and started the new generation off to the side; waits for the verdict.
            case prepared
            /// Finished (swapped, undone or failed), with its final report.
            case done(ReloadReport)

            var isDone: Bool { if case .done = self { true } else { false } }
        }

        let number: Int
        let startedAt: UInt64
        var participants: [Int32: Phase]
        /// Whether commit or abort went out.
        var decided = false
        let deadline: Instant
    }

    /// Starts a round now, or after the one under way.
    mutating func startRound(at now: Instant) -> [Action] {
        guard !stopping else { return [] }
        guard round == nil else {
            roundPending = true
            return []
        }
        roundPending = false
        lastRound += 1
        lastRoundStartedAt = now
        viewChanged = true
        let startedAt = WallClock.nanoseconds()
        // A worker being replaced because a call in it hung takes no part (its control thread may be
        // the stuck one); its successor gets a round of its own once it serves.
        let serving = slots.filter { $0.pid > 0 && $0.serving && $0.replacing != .hung }.map(\.pid)
        guard !serving.isEmpty else {
            return finish(ReloadRoundReport(startedAt: startedAt, failure: "no worker serves yet"), number: lastRound)
        }
        // The first worker is the canary; the others wait for it.
        let canary = serving[0]
        round = RoundState(number: lastRound, startedAt: startedAt,
                           participants: Dictionary(uniqueKeysWithValues: serving.map { ($0, $0 == canary ? .preparing : .waiting) }),
                           deadline: now + configuration.roundDeadline)
        return [.send(.prepare(round: lastRound, verdictWithin: configuration.roundDeadline), to: canary)]
    }

    /// The round ran past its deadline: whoever did not answer failed.
    mutating func roundTimedOut(at now: Instant) -> [Action] {
        guard let current = round else { return [] }
        var actions: [Action] = [.log(.error, "reload round \(current.number) ran past its deadline: workers that did not answer count as failed")]
        for (pid, phase) in current.participants where !phase.isDone {
            if case .waiting = phase {
                round?.participants[pid] = .done(Self.failedReport(pid, "\(ReloadRoundReport.abortedPrefix) not asked to prepare: the round ran past its deadline", round: current))
                continue
            }
            round?.participants[pid] = .done(Self.failedReport(pid, "it did not answer within the round's deadline", round: current))
            actions.append(.send(.abort(round: current.number, reason: "the reload round ran past its deadline"), to: pid))
        }
        return actions + advance(at: now)
    }

    /// Decides once every worker prepared or failed; finishes once every one is done.
    mutating func advance(at now: Instant) -> [Action] {
        guard let current = round else { return [] }
        let phases = Array(current.participants.values)
        var actions: [Action] = []
        if !current.decided {
            guard !phases.contains(where: { if case .preparing = $0 { true } else { false } }) else { return [] }
            // The canary prepared: now the others (when it failed, they are never asked).
            let waiting = current.participants.filter { if case .waiting = $0.value { true } else { false } }.keys.sorted()
            let canaryFailed = phases.contains { $0.isDone }
            if !waiting.isEmpty && !canaryFailed {
                for pid in waiting { round?.participants[pid] = .preparing }
                return waiting.map { .send(.prepare(round: current.number, verdictWithin: configuration.roundDeadline), to: $0) }
            }
            for pid in waiting {
                var report = ReloadReport(succeeded: false, generation: 0, startedAt: current.startedAt)
                report.problems = [PluginError(.reloadRefused, file: "supervisor", reason: "\(ReloadRoundReport.abortedPrefix) not asked to prepare: the first worker failed")]
                round?.participants[pid] = .done(report)
            }
            let failures = current.participants.filter { $0.value.isDone }.sorted { $0.key < $1.key }
            round?.decided = true
            let why = failures.first.map { pid, phase -> String in
                if case .done(let report) = phase, let problem = report.problems.first { return "worker \(pid): \(problem.reason)" }
                return "worker \(pid) failed"
            }
            for (pid, phase) in current.participants {
                guard case .prepared = phase else { continue }
                if let why {
                    actions.append(.send(.abort(round: current.number, reason: "\(ReloadRoundReport.abortedPrefix) \(why)"), to: pid))
                } else {
                    actions.append(.send(.commit(round: current.number), to: pid))
                }
            }
        }
        guard let decided = round, decided.participants.values.allSatisfy(\.isDone) else { return actions }
        let workers = decided.participants.sorted { $0.key < $1.key }.map { pid, phase -> ReloadRoundReport.Worker in
            guard case .done(let report) = phase else { fatalError("checked above") }
            return ReloadRoundReport.Worker(pid: pid, report: report)
        }
        round = nil
        actions += finish(ReloadRoundReport(startedAt: decided.startedAt, workers: workers), number: decided.number)
        if roundPending { actions += startRound(at: now) }
        return actions
    }

    /// Records the round's report and tells every worker.
    private mutating func finish(_ report: ReloadRoundReport, number: Int) -> [Action] {
        viewChanged = true
        return [.log(report.succeeded ? .info : .error, report.summary), .writeRoundReport(report)]
            + workerPIDs.map { .send(.roundFinished(round: number, report: report), to: $0) }
    }

    /// Worker `pid`, if it still has a part in the round under way, failed it for `reason`.
    mutating func failInRound(_ pid: Int32, _ reason: String, at now: Instant) -> [Action] {
        guard let phase = round?.participants[pid], !phase.isDone else { return [] }
        let report = Self.failedReport(pid, reason, round: round)
        round?.participants[pid] = .done(report)
        return advance(at: now)
    }

    /// The report the supervisor writes for worker `pid`, which failed the round for `reason`.
    static func failedReport(_ pid: Int32, _ reason: String, round: RoundState?) -> ReloadReport {
        var report = ReloadReport(succeeded: false, generation: 0, startedAt: round?.startedAt ?? WallClock.nanoseconds())
        report.problems = [PluginError(.reloadRefused, file: "supervisor", reason: reason)]
        return report
    }
}
