import PluginRuntime
@testable import PluginSupervisor
import Testing

@Suite("Supervisor rules: attributing deaths, hangs and stalls")
struct DeathRuleTests {
    private let auth = StateMachineHarness.build("auth", sha: String(repeating: "1", count: 64))
    private let crashy = StateMachineHarness.build("crashy", sha: String(repeating: "2", count: 64))

    private func call(_ thread: Int32, _ build: JournaledBuild, _ kind: String = "endpoint", running: Duration? = nil) -> InFlightCall {
        InFlightCall(thread: thread, call: kind, timed: running != nil, build: build, running: running)
    }

    @Test("a worker's own journal line is kept; nothing more is journaled")
    func ownLineKept() throws {
        var harness = StateMachineHarness(workers: 1)
        harness.startServing()
        let line = "2026-12-06T10:00:00Z pid=\(harness.pid(0)) signal=SIGSEGV alias=crashy version=1 sha256=\(crashy.sha256) state=loaded note=\"x\""
        let record = try #require(CrashRecord(line: line))
        let actions = harness.handle(.exited(pid: harness.pid(0), .signaled(11), evidence: .none, journal: [record], at: harness.now))
        #expect(StateMachineHarness.journaled(actions).isEmpty)
    }

    @Test("a worker's own line read before it is reaped (the file changed first) is still its own: not journaled again")
    func ownLineReadEarly() throws {
        var harness = StateMachineHarness(workers: 1)
        harness.startServing()
        let line = "2026-12-06T10:00:00Z pid=\(harness.pid(0)) signal=SIGABRT alias=crashy version=1 sha256=\(crashy.sha256) state=loaded note=\"x\""
        let record = try #require(CrashRecord(line: line))
        harness.handle(.journalRead([record], at: harness.now))
        let evidence = DeathEvidence(inFlight: [call(5, crashy)], exitingThread: nil, exitStatus: 0, faultingThread: nil, faultingSignal: 0)
        let actions = harness.handle(.exited(pid: harness.pid(0), .signaled(6), evidence: evidence, journal: [record], at: harness.now))
        #expect(StateMachineHarness.journaled(actions).isEmpty, "the death was journaled twice")
        #expect(harness.machine.records.count == 1)
    }

    @Test("exit() on a thread inside a plugin call is charged to that plugin, with the status")
    func exitCharged() throws {
        var harness = StateMachineHarness(workers: 1)
        harness.startServing()
        let evidence = DeathEvidence(inFlight: [call(11, auth), call(12, crashy)], exitingThread: 12, exitStatus: 3, faultingThread: nil, faultingSignal: 0)
        let actions = harness.handle(.exited(pid: harness.pid(0), .exited(3), evidence: evidence, journal: [], at: harness.now))
        let line = try #require(StateMachineHarness.journaled(actions).first)
        let record = try #require(CrashRecord(line: String(line.dropLast())))
        #expect(record.alias == "crashy" && record.signal == "EXIT:3" && record.call == "endpoint" && record.sha256 == crashy.sha256)
    }

    @Test("SIGKILL with one call in flight is charged to it; quarantined after crash-limit deaths")
    func onlyCallCharged() {
        var harness = StateMachineHarness(workers: 1)
        harness.startServing()
        for index in 0..<3 {
            let evidence = DeathEvidence(inFlight: [call(5, crashy)], exitingThread: nil, exitStatus: 0, faultingThread: nil, faultingSignal: 0)
            let actions = harness.handle(.exited(pid: harness.pid(0), .signaled(9), evidence: evidence, journal: harness.machine.records, at: harness.now))
            #expect(StateMachineHarness.journaled(actions).first?.contains("alias=crashy") == true)
            #expect((harness.machine.quarantine.entry(alias: "crashy", sha256: crashy.sha256) != nil) == (index == 2))
            harness.advance(.seconds(6))
            harness.handle(.message(.serving, from: harness.pid(0), at: harness.now))
        }
    }

    @Test("a death with several calls in flight is journaled unattributed, listing them; repeated, it counts against each")
    func severalCallsListed() throws {
        var harness = StateMachineHarness(workers: 1)
        harness.startServing()
        for _ in 0..<3 {
            let evidence = DeathEvidence(inFlight: [call(5, crashy), call(6, auth, "event")], exitingThread: nil, exitStatus: 0,
                                         faultingThread: nil, faultingSignal: 0)
            let actions = harness.handle(.exited(pid: harness.pid(0), .signaled(9), evidence: evidence, journal: harness.machine.records, at: harness.now))
            let line = try #require(StateMachineHarness.journaled(actions).first)
            let record = try #require(CrashRecord(line: String(line.dropLast())))
            #expect(record.alias == nil && record.inFlight.map(\.alias) == ["crashy", "auth"])
            harness.advance(.seconds(6))
            harness.handle(.message(.serving, from: harness.pid(0), at: harness.now))
        }
        #expect(harness.machine.quarantine.entry(alias: "crashy", sha256: crashy.sha256) != nil)
    }

    @Test("one build in flight on several threads is one suspect: charged to it when it is the only one, listed and counted once otherwise")
    func oneBuildOnSeveralThreads() throws {
        var harness = StateMachineHarness(workers: 1)  // crash-limit = 3
        harness.startServing()
        let alone = DeathEvidence(inFlight: [call(5, crashy), call(6, crashy), call(7, crashy)], exitingThread: nil, exitStatus: 0,
                                  faultingThread: nil, faultingSignal: 0)
        let charged = harness.handle(.exited(pid: harness.pid(0), .signaled(9), evidence: alone, journal: harness.machine.records, at: harness.now))
        let line = try #require(StateMachineHarness.journaled(charged).first)
        #expect(CrashRecord(line: String(line.dropLast()))?.alias == "crashy", "\(line)")
        #expect(harness.machine.quarantine.isEmpty, "one death, not three")
        harness.advance(.seconds(6))
        harness.handle(.message(.serving, from: harness.pid(0), at: harness.now))
        let mixed = DeathEvidence(inFlight: [call(5, crashy), call(6, auth, "event"), call(7, crashy)], exitingThread: nil, exitStatus: 0,
                                  faultingThread: nil, faultingSignal: 0)
        let listed = harness.handle(.exited(pid: harness.pid(0), .signaled(9), evidence: mixed, journal: harness.machine.records, at: harness.now))
        let record = try #require(StateMachineHarness.journaled(listed).first.flatMap { CrashRecord(line: String($0.dropLast())) })
        #expect(record.alias == nil && record.inFlight.map(\.alias) == ["crashy", "auth"], "\(record.line)")
        #expect(harness.machine.quarantine.isEmpty, "two deaths of crashy so far, under the limit of 3")
    }

    @Test("a crash in a lifecycle call quarantines that build at once")
    func lifecycleCrashQuarantines() {
        var harness = StateMachineHarness(workers: 1)
        harness.startServing()
        let evidence = DeathEvidence(inFlight: [call(5, crashy, "create", running: .milliseconds(3))], exitingThread: nil, exitStatus: 0,
                                     faultingThread: 5, faultingSignal: 11)
        let actions = harness.handle(.exited(pid: harness.pid(0), .signaled(11), evidence: evidence, journal: [], at: harness.now))
        #expect(StateMachineHarness.logged(actions).contains { $0.contains("plugin 'crashy' is quarantined after a crash in create") })
        #expect(harness.machine.quarantine.entry(alias: "crashy", sha256: crashy.sha256) != nil)
    }

    @Test("a newly quarantined build that the committed generation runs makes every worker reload; an uncommitted one does not")
    func quarantineStartsRoundOnlyForRunningBuilds() {
        var harness = StateMachineHarness(workers: 2)
        harness.startServing()
        let old = StateMachineHarness.build("crashy", sha: String(repeating: "9", count: 64))
        harness.handle(.message(.committed(builds: [CommittedBuild(alias: "crashy", sha256: old.sha256)]), from: harness.pid(0), at: harness.now))
        // The new build (not committed) crashes in create during a round: no round for it.
        let evidence = DeathEvidence(inFlight: [call(5, crashy, "create", running: .milliseconds(3))], exitingThread: nil, exitStatus: 0,
                                     faultingThread: 5, faultingSignal: 11)
        let actions = harness.handle(.exited(pid: harness.pid(1), .signaled(11), evidence: evidence, journal: [], at: harness.now))
        #expect(!StateMachineHarness.sent(actions).contains { if case .prepare = $0.0 { true } else { false } })
        // The committed build crashing three times does start one.
        for _ in 0..<3 {
            let running = DeathEvidence(inFlight: [call(5, old)], exitingThread: nil, exitStatus: 0, faultingThread: nil, faultingSignal: 0)
            let crash = harness.handle(.exited(pid: harness.pid(0), .signaled(9), evidence: running, journal: harness.machine.records, at: harness.now))
            harness.advance(.seconds(6))
            harness.handle(.message(.serving, from: harness.pid(0), at: harness.now))
            harness.handle(.message(.serving, from: harness.pid(1), at: harness.now))
            if harness.machine.quarantine.entry(alias: "crashy", sha256: old.sha256) != nil {
                #expect(StateMachineHarness.sent(crash).contains { if case .prepare = $0.0 { true } else { false } })
            }
        }
        #expect(harness.machine.quarantine.entry(alias: "crashy", sha256: old.sha256) != nil)
    }

    @Test("a lifecycle call past its deadline: journaled as a hang of its plugin and call, the round fails, the worker is replaced")
    func lifecycleHang() throws {
        var harness = StateMachineHarness(workers: 2)
        harness.startServing()
        harness.handle(.hangUp(at: harness.now))
        // The canary prepared; the second worker hangs in the new build's start.
        harness.handle(.message(.prepared(round: 1), from: harness.pid(0), at: harness.now))
        let stuck = harness.pid(1)
        let hang = call(9, crashy, "start", running: .seconds(3))
        let actions = harness.handle(.lifecycleOverdue(pid: stuck, call: hang, at: harness.now))
        let line = try #require(StateMachineHarness.journaled(actions).first)
        #expect(line.contains("signal=HANG") && line.contains("alias=crashy") && line.contains("call=start"))
        // The prepared worker is told to abort, naming the plugin and the call.
        let abort = StateMachineHarness.sent(actions).first { if case .abort = $0.0 { true } else { false } }
        if case .abort(_, let reason)? = abort?.0 { #expect(reason.contains("crashy") && reason.contains("start")) } else { Issue.record("no abort: \(actions)") }
        #expect(actions.contains(.spawn(slot: 1, successor: true)))
        // The same hang is acted on once.
        #expect(harness.handle(.lifecycleOverdue(pid: stuck, call: hang, at: harness.now)).isEmpty)
        // The other worker reports its undo: the round ends, failed, its report names the hang.
        let finished = harness.handle(.message(.finished(round: 1, report: ReloadReport(succeeded: false, generation: 1, startedAt: 1)),
                                               from: harness.pid(0), at: harness.now))
        let report = finished.compactMap { if case .writeRoundReport(let report) = $0 { report } else { nil } }.first
        #expect(report?.succeeded == false && report?.summary.contains("crashy") == true && report?.summary.contains("hung in start") == true,
                "\(String(describing: report))")
        // A later round works: the successor serves, the stuck worker is stopped.
        let successor = harness.machine.slots[1].successor
        harness.handle(.message(.serving, from: successor, at: harness.now))
        #expect(harness.pid(1) == successor && harness.machine.retiring[stuck] != nil)
        let next = harness.handle(.hangUp(at: harness.now))
        #expect(StateMachineHarness.sent(next).filter { if case .prepare(2, _) = $0.0 { true } else { false } }.count == 1)
        let canary = harness.handle(.message(.prepared(round: 2), from: harness.pid(0), at: harness.now))
        #expect(StateMachineHarness.sent(canary).contains { if case .prepare(2, _) = $0.0 { $0.1 == successor } else { false } })
    }

    @Test("a serving worker silent past worker-stall-ms is replaced, the successor first; the log says what it holds")
    func stalledWorker() {
        var harness = StateMachineHarness(workers: 1)
        harness.startServing()
        let actions = harness.handle(.stalled(pid: harness.pid(0), silence: .seconds(4), resources: "1024 of 1024 descriptors", at: harness.now))
        #expect(actions.contains(.spawn(slot: 0, successor: true)))
        #expect(StateMachineHarness.logged(actions).contains { $0.contains("health check") && $0.contains("1024 of 1024 descriptors") })
        // Reported again while the successor starts: no second successor.
        #expect(harness.handle(.stalled(pid: harness.pid(0), silence: .seconds(5), resources: "", at: harness.now)).isEmpty)
    }
}
