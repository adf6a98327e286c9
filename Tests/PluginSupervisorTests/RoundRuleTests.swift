import PluginRuntime
@testable import PluginSupervisor
import Testing

@Suite("Supervisor rules: reload rounds")
struct RoundRuleTests {
    private func prepares(_ actions: [SupervisorStateMachine.Action]) -> [Int32] {
        StateMachineHarness.sent(actions).compactMap { if case .prepare = $0.0 { $0.1 } else { nil } }
    }

    private func report(_ actions: [SupervisorStateMachine.Action]) -> ReloadRoundReport? {
        actions.compactMap { if case .writeRoundReport(let report) = $0 { report } else { nil } }.first
    }

    @Test("the first worker prepares alone, then the others; commit everywhere once every worker prepared; the round's report goes to every worker")
    func commitWhenAllPrepared() {
        var harness = StateMachineHarness(workers: 2)
        harness.startServing()
        let asked = harness.handle(.hangUp(at: harness.now))
        #expect(prepares(asked) == [harness.pid(0)], "the canary first")
        let first = harness.handle(.message(.prepared(round: 1), from: harness.pid(0), at: harness.now))
        #expect(prepares(first) == [harness.pid(1)], "then the others")
        #expect(!StateMachineHarness.sent(first).contains { if case .commit = $0.0 { true } else { false } }, "no verdict before every worker prepared")
        let second = harness.handle(.message(.prepared(round: 1), from: harness.pid(1), at: harness.now))
        #expect(StateMachineHarness.sent(second).filter { if case .commit(1) = $0.0 { true } else { false } }.count == 2)
        harness.handle(.message(.finished(round: 1, report: StateMachineHarness.swapped()), from: harness.pid(0), at: harness.now))
        let done = harness.handle(.message(.finished(round: 1, report: StateMachineHarness.swapped()), from: harness.pid(1), at: harness.now))
        #expect(report(done)?.succeeded == true)
        #expect(StateMachineHarness.sent(done).filter { if case .roundFinished(1, _) = $0.0 { true } else { false } }.count == 2)
    }

    @Test("when the canary fails, the others are never asked and the round ends at once")
    func canaryFailure() {
        var harness = StateMachineHarness(workers: 3)
        harness.startServing()
        harness.handle(.hangUp(at: harness.now))
        let refused = ReloadReport(succeeded: false, generation: 1, startedAt: 1,
                                   problems: [PluginError(.createFailed, file: "libx.so", alias: "x", reason: "broken on purpose")])
        let actions = harness.handle(.message(.finished(round: 1, report: refused), from: harness.pid(0), at: harness.now))
        #expect(prepares(actions).isEmpty)
        let final = report(actions)
        #expect(final?.succeeded == false && final?.workers.count == 3)
        #expect(final?.summary.contains("broken on purpose") == true && final?.summary.contains("worker \(harness.pid(1))") == false, "\(final?.summary ?? "")")
    }

    @Test("one worker's refusal aborts the others, and the summary names the worker that failed, not those that only undid")
    func refusalAbortsOthers() {
        var harness = StateMachineHarness(workers: 2)
        harness.startServing()
        harness.handle(.hangUp(at: harness.now))
        harness.handle(.message(.prepared(round: 1), from: harness.pid(0), at: harness.now))
        let refused = ReloadReport(succeeded: false, generation: 1, startedAt: 1,
                                   problems: [PluginError(.createFailed, file: "libx.so", alias: "x", reason: "broken on purpose")])
        let actions = harness.handle(.message(.finished(round: 1, report: refused), from: harness.pid(1), at: harness.now))
        let abort = StateMachineHarness.sent(actions).first { if case .abort = $0.0 { true } else { false } }
        #expect(abort?.1 == harness.pid(0))
        let undone = ReloadReport(succeeded: false, generation: 1, startedAt: 1,
                                  problems: [PluginError(.reloadRefused, file: "p", reason: "\(ReloadRoundReport.abortedPrefix) worker \(harness.pid(1)): broken on purpose")])
        let done = harness.handle(.message(.finished(round: 1, report: undone), from: harness.pid(0), at: harness.now))
        let summary = report(done)?.summary ?? ""
        #expect(summary.contains("worker \(harness.pid(1))") && summary.contains("broken on purpose") && !summary.contains("worker \(harness.pid(0))"),
                "\(summary)")
    }

    @Test("a worker that dies mid-round fails it; the prepared ones abort; the round still ends")
    func deathMidRound() {
        var harness = StateMachineHarness(workers: 2)
        harness.startServing()
        harness.handle(.hangUp(at: harness.now))
        harness.handle(.message(.prepared(round: 1), from: harness.pid(0), at: harness.now))
        // pid(1) was asked after the canary and dies while it prepares.
        let dead = harness.pid(1)
        let actions = harness.handle(.exited(pid: dead, .signaled(11), evidence: .none, journal: [], at: harness.now))
        #expect(StateMachineHarness.sent(actions).contains { if case .abort = $0.0 { $0.1 == harness.pid(0) } else { false } })
        let done = harness.handle(.message(.finished(round: 1, report: ReloadReport(succeeded: false, generation: 1, startedAt: 1)),
                                           from: harness.pid(0), at: harness.now))
        let final = report(done)
        #expect(final?.succeeded == false && final?.workers.count == 2)
        #expect(final?.summary.contains("died during the round") == true, "\(final?.summary ?? "")")
    }

    @Test("a round past its deadline counts workers that did not answer as failed")
    func deadline() {
        var harness = StateMachineHarness(workers: 2)
        harness.startServing()
        harness.handle(.hangUp(at: harness.now))
        harness.handle(.message(.prepared(round: 1), from: harness.pid(0), at: harness.now))
        harness.advance(harness.machine.configuration.roundDeadline + .seconds(1))
        #expect(harness.actions.contains { if case .send(.abort(1, _), harness.pid(0)) = $0 { true } else { false } })
    }

    @Test("a reload asked for during a round runs once more after it; a worker that started during a round gets one of its own")
    func pendingRounds() {
        var harness = StateMachineHarness(workers: 1)
        harness.startServing()
        harness.handle(.hangUp(at: harness.now))
        #expect(prepares(harness.handle(.message(.askReload, from: harness.pid(0), at: harness.now))).isEmpty)
        harness.handle(.message(.prepared(round: 1), from: harness.pid(0), at: harness.now))
        let done = harness.handle(.message(.finished(round: 1, report: StateMachineHarness.swapped()), from: harness.pid(0), at: harness.now))
        #expect(prepares(done) == [harness.pid(0)], "the second round begins")
        #expect(harness.machine.lastRound == 2)
    }

    @Test("no worker serving: the round fails at once with a report")
    func noWorker() {
        var harness = StateMachineHarness(workers: 1)
        harness.handle(.begin(at: harness.now))
        let actions = harness.handle(.hangUp(at: harness.now))
        #expect(report(actions)?.summary.contains("no worker serves") == true)
    }
}

@Suite("Supervisor rules: rounds while a hung worker is replaced")
struct HungWorkerRoundTests {
    @Test("a worker being replaced because a call in it hung takes no part in a round; its successor gets one of its own")
    func hungWorkerSkipped() {
        var harness = StateMachineHarness(workers: 2)
        harness.startServing()
        let stuck = harness.pid(0)
        harness.handle(.message(.replaceMe(reason: .hung), from: stuck, at: harness.now))
        let asked = harness.handle(.hangUp(at: harness.now + .milliseconds(1)))
        let prepared = StateMachineHarness.sent(asked).compactMap { if case .prepare = $0.0 { $0.1 } else { nil } }
        #expect(prepared == [harness.pid(1)])
        let successor = harness.machine.slots[0].successor
        harness.handle(.message(.prepared(round: 1), from: harness.pid(1), at: harness.now))
        harness.handle(.message(.finished(round: 1, report: StateMachineHarness.swapped()), from: harness.pid(1), at: harness.now))
        let serves = harness.handle(.message(.serving, from: successor, at: harness.now))
        #expect(StateMachineHarness.sent(serves).contains { if case .prepare(2, _) = $0.0 { true } else { false } }, "\(serves)")
    }
}
