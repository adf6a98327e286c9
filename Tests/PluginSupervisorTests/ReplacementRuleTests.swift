import PluginRuntime
@testable import PluginSupervisor
import Testing

/// Whether `actions` start a worker for `slot` (a successor when `successor`).
private func spawns(_ actions: [SupervisorStateMachine.Action], slot: Int = 0, successor: Bool) -> Bool {
    actions.contains(.spawn(slot: slot, successor: successor))
}

@Suite("Supervisor rules: replacing a worker, whatever happens to it or its successor")
struct ReplacementRuleTests {
    @Test("a worker that dies while its successor starts: the successor takes the slot (no fresh worker beside it) and is told to accept")
    func successorTakesTheSlot() {
        var harness = StateMachineHarness(workers: 1)
        harness.startServing()
        let old = harness.pid(0)
        harness.handle(.message(.replaceMe(reason: .hung), from: old, at: harness.now))
        let successor = harness.machine.slots[0].successor
        harness.handle(.message(.readyToServe, from: successor, at: harness.now))
        let died = harness.handle(.exited(pid: old, .signaled(11), evidence: .none, journal: [], at: harness.now))
        #expect(!spawns(died, successor: false), "\(died)")
        #expect(harness.pid(0) == successor && harness.machine.slots[0].successor == 0)
        #expect(died.contains(.send(.acceptConnections, to: successor)), "the handover it waited for is over")
        #expect(harness.machine.slots[0].replacing == nil, "nothing of the dead worker's replacement carries over")
        harness.handle(.message(.serving, from: successor, at: harness.now))
        #expect(harness.machine.servingPIDs == [successor])
        // It takes part in rounds (a worker still marked hung would be left out).
        let round = harness.handle(.hangUp(at: harness.now))
        #expect(StateMachineHarness.sent(round).contains { if case .prepare = $0.0 { $0.1 == successor } else { false } })
    }

    @Test("a fresh worker in a slot whose hung worker was killed before it served starts with no replacement state")
    func freshWorkerForgetsReplacement() {
        var harness = StateMachineHarness(workers: 1)
        harness.handle(.begin(at: harness.now))
        let first = harness.pid(0)
        harness.handle(.lifecycleOverdue(pid: first, call: InFlightCall(thread: 1, call: "create", timed: true, build: StateMachineHarness.build("slow"),
                                                                        running: .seconds(3)), at: harness.now))
        harness.handle(.exited(pid: first, .signaled(9), evidence: .none, journal: harness.machine.records, at: harness.now))
        harness.advance(.seconds(1))
        let fresh = harness.pid(0)
        #expect(fresh != 0 && fresh != first)
        #expect(harness.machine.slots[0].replacing == nil)
        harness.handle(.message(.serving, from: fresh, at: harness.now))
        let round = harness.handle(.hangUp(at: harness.now))
        #expect(StateMachineHarness.sent(round).contains { if case .prepare = $0.0 { $0.1 == fresh } else { false } }, "\(round)")
    }

    @Test("a successor that cannot be spawned, dies or hangs: the predecessor serves on and another successor starts after 1 s, then 2 s")
    func successorRetried() {
        var harness = StateMachineHarness(workers: 1)
        harness.startServing()
        let old = harness.pid(0)
        harness.handle(.message(.replaceMe(reason: .hung), from: old, at: harness.now))
        let first = harness.machine.slots[0].successor
        // It dies before serving.
        let died = harness.handle(.exited(pid: first, .signaled(11), evidence: .none, journal: [], at: harness.now))
        #expect(!spawns(died, successor: true) && harness.pid(0) == old)
        harness.advance(.milliseconds(900))
        #expect(harness.machine.slots[0].successor == 0)
        harness.advance(.milliseconds(200))
        let second = harness.machine.slots[0].successor
        #expect(second != 0 && second != first, "another successor after 1 s")
        // This one cannot be started at all (the I/O layer reports it): the next waits 2 s.
        harness.handle(.spawnFailed(slot: 0, successor: true, reason: "EAGAIN", at: harness.now))
        #expect(harness.machine.slots[0].successor == 0 && harness.pid(0) == old, "the predecessor serves on")
        harness.advance(.milliseconds(1500))
        #expect(harness.machine.slots[0].successor == 0)
        harness.advance(.milliseconds(600))
        let third = harness.machine.slots[0].successor
        #expect(third != 0)
        // It hangs in a lifecycle call: killed, and the slot keeps asking.
        let hung = harness.handle(.lifecycleOverdue(pid: third, call: InFlightCall(thread: 1, call: "start", timed: true, build: StateMachineHarness.build("slow"),
                                                                                  running: .seconds(3)), at: harness.now))
        #expect(hung.contains(.signal(9, to: third)) && harness.machine.slots[0].successor == 0)
        let exit = harness.handle(.exited(pid: third, .signaled(9), evidence: .none, journal: harness.machine.records, at: harness.now))
        #expect(StateMachineHarness.journaled(exit).isEmpty, "its death was asked for")
        harness.advance(.seconds(5))
        let fourth = harness.machine.slots[0].successor
        #expect(fourth != 0 && fourth != third)
        // Once one serves, the old worker goes and the slot is settled.
        harness.handle(.message(.serving, from: fourth, at: harness.now))
        #expect(harness.pid(0) == fourth && harness.machine.slots[0].replacing == nil && harness.machine.retiring[old] != nil)
    }

    @Test("a slot whose worker cannot be spawned start-attempts times in a row stops the host; fewer are tried again each second")
    func spawnFailuresCount() {
        var harness = StateMachineHarness(workers: 1)  // start-attempts = 3
        harness.handle(.begin(at: harness.now))
        harness.handle(.exited(pid: harness.pid(0), .exited(1), evidence: .none, journal: [], at: harness.now))
        harness.advance(.seconds(1))
        var stopped = false
        for attempt in 2...3 {
            let actions = harness.handle(.spawnFailed(slot: 0, successor: false, reason: "No such file or directory", at: harness.now))
            stopped = StateMachineHarness.stops(actions, status: 1)
            #expect(stopped == (attempt == 3), "attempt \(attempt): \(actions)")
            if !stopped {
                harness.advance(.milliseconds(1100))
                #expect(harness.actions.suffix(6).contains(.spawn(slot: 0, successor: false)), "tried again")
            }
        }
        #expect(stopped)
    }

    @Test("a worker, or a successor, that has not begun serving within the round deadline is killed")
    func startDeadline() {
        var harness = StateMachineHarness(workers: 2)
        harness.handle(.begin(at: harness.now))
        harness.handle(.message(.serving, from: harness.pid(1), at: harness.now))
        let stuck = harness.pid(0)
        let limit = harness.machine.configuration.roundDeadline
        harness.advance(limit - .seconds(1))
        #expect(!harness.actions.contains(.signal(9, to: stuck)))
        harness.advance(.seconds(2))
        #expect(harness.actions.contains(.signal(9, to: stuck)))
        let exit = harness.handle(.exited(pid: stuck, .signaled(9), evidence: .none, journal: [], at: harness.now))
        #expect(StateMachineHarness.journaled(exit).isEmpty, "killed here: no news")

        let old = harness.pid(1)
        harness.handle(.message(.replaceMe(reason: .retainedImages), from: old, at: harness.now))
        let successor = harness.machine.slots[1].successor
        harness.advance(limit + .seconds(1))
        #expect(harness.actions.contains(.signal(9, to: successor)))
        #expect(harness.pid(1) == old, "the predecessor serves on")
    }

    @Test("a permanent start refusal while other workers serve stops nothing: those serve on, the slot is retried")
    func permanentRefusalWhileServing() {
        var harness = StateMachineHarness(workers: 2)
        harness.startServing()
        harness.handle(.exited(pid: harness.pid(1), .signaled(9), evidence: .none, journal: [], at: harness.now))
        let refused = harness.handle(.message(.startRefused(reason: "host.toml: not valid TOML", permanent: true), from: harness.pid(1), at: harness.now))
        #expect(!StateMachineHarness.stops(refused, status: 1), "\(refused)")
        #expect(!harness.machine.stopping)
    }

    @Test("a prepared or finished that comes after the supervisor decided for that worker changes nothing")
    func lateRoundMessages() {
        var harness = StateMachineHarness(workers: 2)
        harness.startServing()
        harness.handle(.hangUp(at: harness.now))
        let canary = harness.pid(0)
        let other = harness.pid(1)
        // The other worker, never asked, says it prepared: ignored.
        let unasked = harness.handle(.message(.prepared(round: 1), from: other, at: harness.now))
        #expect(unasked.isEmpty)
        // The canary hangs: the supervisor fails it; its late prepared must not revive it.
        harness.handle(.lifecycleOverdue(pid: canary, call: InFlightCall(thread: 1, call: "start", timed: true, build: StateMachineHarness.build("slow"),
                                                                         running: .seconds(3)), at: harness.now))
        let late = harness.handle(.message(.prepared(round: 1), from: canary, at: harness.now))
        #expect(late.isEmpty, "\(late)")
        #expect(harness.machine.round == nil, "the round ended with the canary's failure")
    }

    @Test("figures a worker sent before it died count once: in the ended workers' totals, not again from the open question")
    func deadWorkerCountedOnce() {
        var harness = StateMachineHarness(workers: 2)
        harness.startServing()
        let asker = harness.pid(0)
        let dying = harness.pid(1)
        let asked = harness.handle(.message(.askHost(request: 7), from: asker, at: harness.now))
        let id = StateMachineHarness.sent(asked).compactMap { if case .collect(let id) = $0.0 { id } else { nil } }.first ?? 0
        let counter = "# TYPE plughost_requests_total counter\nplughost_requests_total 5\n"
        harness.handle(.message(.snapshot(request: id, WorkerSnapshot(pid: dying, metrics: counter, listing: "[]")), from: dying, at: harness.now))
        harness.handle(.exited(pid: dying, .signaled(9), evidence: .none, journal: [], at: harness.now))
        let answered = harness.handle(.message(.snapshot(request: id, WorkerSnapshot(pid: asker, metrics: counter, listing: "[]")), from: asker, at: harness.now))
        let host = StateMachineHarness.sent(answered).compactMap { if case .host(7, let host) = $0.0 { host } else { nil } }.first
        #expect(host?.metrics.contains("plughost_requests_total 10\n") == true, "\(host?.metrics ?? "no answer")")
    }

    @Test("a line the supervisor journaled is no news when the journal is read back; one that was not written stays known")
    func ownJournalLines() {
        var harness = StateMachineHarness(workers: 1)
        harness.startServing()
        let pid = harness.pid(0)
        let inFlight = [InFlightCall(thread: 1, call: "endpoint", timed: false, build: StateMachineHarness.build("crashy"))]
        let evidence = DeathEvidence(inFlight: inFlight, exitingThread: nil, exitStatus: 0, faultingThread: nil, faultingSignal: 0)
        let died = harness.handle(.exited(pid: pid, .signaled(9), evidence: evidence, journal: [], at: harness.now))
        #expect(StateMachineHarness.journaled(died).count == 1)
        #expect(harness.machine.records.count == 1)
        // The append failed (the file never got it): the record stays, once.
        harness.handle(.journalRead([], at: harness.now))
        #expect(harness.machine.records.count == 1)
        // Read back with it: still once.
        let written = harness.machine.records
        harness.handle(.journalRead(written, at: harness.now))
        #expect(harness.machine.records.count == 1)
    }
}
