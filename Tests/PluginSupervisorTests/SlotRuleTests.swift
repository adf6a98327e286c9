import PluginRuntime
@testable import PluginSupervisor
import Testing

@Suite("Supervisor rules: slots, restarts and giving up")
struct SlotRuleTests {
    @Test("begin starts one worker per slot; serving marks them, and the view goes to every worker")
    func beginStartsEverySlot() {
        var harness = StateMachineHarness(workers: 3)
        let actions = harness.handle(.begin(at: harness.now))
        #expect(actions.filter { if case .spawn = $0 { true } else { false } }.count == 3)
        #expect(harness.machine.workerPIDs.count == 3)
        let serving = harness.handle(.message(.serving, from: harness.pid(0), at: harness.now))
        #expect(harness.machine.slots[0].serving)
        #expect(StateMachineHarness.sent(serving).filter { if case .view = $0.0 { true } else { false } }.count == 3)
    }

    @Test("a worker that ran a while and died is replaced at once; one that keeps dying soon after start waits 100 ms, 200 ms, …")
    func restartBackoff() {
        var harness = StateMachineHarness(workers: 1)
        harness.startServing()
        harness.advance(.seconds(20))
        let first = harness.handle(.exited(pid: harness.pid(0), .signaled(11), evidence: .none, journal: [], at: harness.now))
        #expect(first.contains(.spawn(slot: 0, successor: false)), "a worker that lived 20 s is replaced at once")
        harness.handle(.message(.serving, from: harness.pid(0), at: harness.now))
        // Dies again right away: the next replacement waits 100 ms.
        let second = harness.handle(.exited(pid: harness.pid(0), .signaled(11), evidence: .none, journal: [], at: harness.now))
        #expect(!second.contains(.spawn(slot: 0, successor: false)))
        harness.advance(.milliseconds(50))
        #expect(harness.pid(0) == 0)
        harness.advance(.milliseconds(60))
        #expect(harness.pid(0) != 0, "restarted after 100 ms")
    }

    @Test("a worker that refuses to start for good stops the host with status 1, naming the reason")
    func permanentRefusalStops() {
        var harness = StateMachineHarness(workers: 3)
        harness.handle(.begin(at: harness.now))
        let actions = harness.handle(.message(.startRefused(reason: "--strict: plugins/x.toml: alias 'x': library not found", permanent: true),
                                              from: harness.pid(1), at: harness.now))
        #expect(StateMachineHarness.stops(actions, status: 1))
        #expect(StateMachineHarness.logged(actions).contains { $0.contains("library not found") })
        // Nothing is restarted once stopping.
        harness.advance(.seconds(10))
        #expect(!harness.actions.suffix(3).contains(.spawn(slot: 1, successor: false)))
    }

    @Test("start-attempts deaths in a row before serving, charged to no plugin, stop the host; deaths after serving do not")
    func giveUpAfterFailedStarts() {
        var harness = StateMachineHarness(workers: 1)  // start-attempts = 3
        harness.handle(.begin(at: harness.now))
        var stopped = false
        for attempt in 1...3 {
            let actions = harness.handle(.exited(pid: harness.pid(0), .exited(1), evidence: .none, journal: [], at: harness.now))
            stopped = StateMachineHarness.stops(actions, status: 1)
            #expect(stopped == (attempt == 3), "attempt \(attempt)")
            harness.advance(.seconds(6))
        }
        #expect(stopped)

        var served = StateMachineHarness(workers: 1)
        served.startServing()
        for _ in 1...5 {
            let actions = served.handle(.exited(pid: served.pid(0), .signaled(9), evidence: .none, journal: [], at: served.now))
            #expect(!StateMachineHarness.stops(actions, status: 1))
            served.advance(.seconds(6))
            served.handle(.message(.serving, from: served.pid(0), at: served.now))
        }
    }

    @Test("deaths before serving that are charged to a plugin lead to its quarantine, not to giving up")
    func chargedDeathsDoNotGiveUp() {
        var harness = StateMachineHarness(workers: 1)
        harness.handle(.begin(at: harness.now))
        let build = StateMachineHarness.build("crashy")
        for _ in 1...4 {
            let evidence = DeathEvidence(inFlight: [InFlightCall(thread: 7, call: "endpoint", timed: false, build: build)],
                                         exitingThread: nil, exitStatus: 0, faultingThread: nil, faultingSignal: 0)
            let actions = harness.handle(.exited(pid: harness.pid(0), .signaled(9), evidence: evidence, journal: harness.machine.records,
                                                 at: harness.now))
            #expect(!StateMachineHarness.stops(actions, status: 1))
            harness.advance(.seconds(6))
        }
        #expect(harness.machine.quarantine.entry(alias: "crashy", sha256: build.sha256) != nil)
    }

    @Test("a worker asking to be replaced gets a successor; once it serves, the old one drains and is killed past the stop timeout")
    func gracefulReplacement() {
        var harness = StateMachineHarness(workers: 1)
        harness.startServing()
        let old = harness.pid(0)
        let asked = harness.handle(.message(.replaceMe(reason: .retainedImages), from: old, at: harness.now))
        #expect(asked.contains(.spawn(slot: 0, successor: true)))
        let successor = harness.machine.slots[0].successor
        let serves = harness.handle(.message(.serving, from: successor, at: harness.now))
        #expect(serves.contains(.signal(15, to: old)))
        #expect(harness.pid(0) == successor && harness.machine.retiring[old] != nil)
        harness.advance(harness.machine.configuration.stopTimeout + .seconds(1))
        #expect(harness.actions.contains(.signal(9, to: old)))
        // Its exit is expected: nothing journaled, nothing restarted.
        let exit = harness.handle(.exited(pid: old, .signaled(9), evidence: .none, journal: [], at: harness.now))
        #expect(StateMachineHarness.journaled(exit).isEmpty && !exit.contains { if case .spawn = $0 { true } else { false } })
    }

    @Test("SIGTERM stops every worker and exits 0; nothing restarts afterwards")
    func terminate() {
        var harness = StateMachineHarness(workers: 2)
        harness.startServing()
        let actions = harness.handle(.terminate(at: harness.now))
        #expect(StateMachineHarness.stops(actions, status: 0))
        let exit = harness.handle(.exited(pid: harness.pid(0), .exited(0), evidence: .none, journal: [], at: harness.now))
        #expect(StateMachineHarness.journaled(exit).isEmpty && !exit.contains { if case .spawn = $0 { true } else { false } })
    }
}

@Suite("Supervisor rules: handing a socket to a successor")
struct HandoverRuleTests {
    @Test("a successor whose plugins run waits until its predecessor stopped accepting, then accepts")
    func quiesceThenAccept() {
        var harness = StateMachineHarness(workers: 1)
        harness.startServing()
        let old = harness.pid(0)
        harness.handle(.message(.replaceMe(reason: .retainedImages), from: old, at: harness.now))
        let successor = harness.machine.slots[0].successor
        let ready = harness.handle(.message(.readyToServe, from: successor, at: harness.now))
        #expect(ready.contains(.send(.quiesce, to: old)) && !ready.contains(.send(.acceptConnections, to: successor)))
        let quiesced = harness.handle(.message(.quiesced, from: old, at: harness.now))
        #expect(quiesced.contains(.send(.acceptConnections, to: successor)))
    }

    @Test("a predecessor that does not answer (its event loops are stuck) does not hold its successor: it accepts after a second")
    func stuckPredecessor() {
        var harness = StateMachineHarness(workers: 1)
        harness.startServing()
        harness.handle(.stalled(pid: harness.pid(0), silence: .seconds(4), resources: "", at: harness.now))
        let successor = harness.machine.slots[0].successor
        harness.handle(.message(.readyToServe, from: successor, at: harness.now))
        harness.advance(.milliseconds(500))
        #expect(!harness.actions.contains(.send(.acceptConnections, to: successor)))
        harness.advance(.milliseconds(600))
        #expect(harness.actions.contains(.send(.acceptConnections, to: successor)))
    }
}
