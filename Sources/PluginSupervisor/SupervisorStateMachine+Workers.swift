import Logging
import PluginRuntime

/// Slots: starting workers, their messages, their deaths and restarts.
extension SupervisorStateMachine {
    /// Asks for a worker in `slot` (a successor of its serving worker when `successor`).
    mutating func spawn(_ slot: Int, successor: Bool = false, at now: Instant) -> [Action] {
        guard !stopping else { return [] }
        if !successor {
            slots[slot].spawning = true
            slots[slot].restartAt = nil
        }
        return [.spawn(slot: slot, successor: successor)]
    }

    mutating func spawned(_ slot: Int, pid: Int32, successor: Bool, at now: Instant) {
        if successor {
            slots[slot].successor = pid
            slots[slot].successorStartedAt = now
        } else {
            slots[slot].pid = pid
            slots[slot].serving = false
            slots[slot].spawning = false
            slots[slot].killed = false
            slots[slot].startedAt = now
        }
        viewChanged = true
    }

    /// One message from worker `pid`.
    mutating func received(_ message: ControlMessage, from pid: Int32, at now: Instant) -> [Action] {
        switch message {
        case .serving:
            return serves(pid, at: now)
        case .readyToServe:
            return successorReady(pid, at: now)
        case .quiesced:
            return predecessorQuiesced(pid)
        case .startRefused(let reason, let permanent):
            guard permanent else { return [.log(.error, "worker \(pid) could not start: \(reason)")] }
            stopping = true
            return [.log(.critical, "worker \(pid) cannot start, and a restart would not change that: \(reason)"),
                    .log(.critical, "stopping the host"), .stopAndExit(status: 1)]
        case .askReload:
            return startRound(at: now)
        case .prepared(let number):
            guard number == round?.number else { return [] }
            round?.participants[pid] = .prepared
            return advance(at: now)
        case .finished(let number, let report):
            guard number == round?.number else { return [] }
            round?.participants[pid] = .done(report)
            return advance(at: now)
        case .committed(let builds):
            committedBuilds = builds
            return []
        case .replaceMe(let reason):
            return replace(pid, reason: reason, at: now)
        case .askHost(let request):
            return collect(for: pid, request: request, at: now)
        case .snapshot(let request, let snapshot):
            return collected(snapshot, from: pid, request: request, at: now)
        case .prepare, .commit, .abort, .roundFinished, .view, .collect, .host, .quiesce, .acceptConnections:
            return [.log(.warning, "worker \(pid) sent a message only the supervisor sends")]
        }
    }

    /// A successor's plugins run: its predecessor stops accepting first (two processes
    /// accepting on one socket race for each connection), then the successor starts.
    private mutating func successorReady(_ pid: Int32, at now: Instant) -> [Action] {
        guard let index = slots.firstIndex(where: { $0.successor == pid }) else { return [.send(.acceptConnections, to: pid)] }
        let old = slots[index].pid
        guard old > 0 else { return [.send(.acceptConnections, to: pid)] }
        slots[index].handover = Handover(successor: pid, deadline: now + Self.quiesceWait)
        return [.send(.quiesce, to: old)]
    }

    /// The predecessor stopped accepting: its successor may start.
    private mutating func predecessorQuiesced(_ pid: Int32) -> [Action] {
        guard let index = slots.firstIndex(where: { $0.pid == pid }), let handover = slots[index].handover else { return [] }
        slots[index].handover = nil
        return [.send(.acceptConnections, to: handover.successor)]
    }

    /// How long a successor waits for its predecessor to stop accepting (a stuck one never answers).
    static let quiesceWait: Duration = .seconds(1)

    /// A worker says it serves: a successor takes its predecessor's slot (which now
    /// drains, or is killed when it hung); a worker that started during a round gets one.
    private mutating func serves(_ pid: Int32, at now: Instant) -> [Action] {
        viewChanged = true
        if let index = slots.firstIndex(where: { $0.successor == pid }) {
            let old = slots[index].pid
            let killNow = slots[index].replacing == .hung
            let missedRound = lastRoundStartedAt.map { began in slots[index].successorStartedAt.map { $0 < began } ?? false } ?? false
            var actions: [Action] = [.log(.info, "worker \(pid) serves in place of worker \(old), which now \(killNow ? "stops (killed in 2 s: a call in it hung or it stopped answering)" : "drains")")]
            slots[index].pid = pid
            slots[index].successor = 0
            slots[index].replacing = nil
            slots[index].startedAt = now
            slots[index].serving = true
            slots[index].failedStarts = 0
            if old > 0 {
                retiring[old] = killNow ? now + .seconds(2) : now + configuration.stopTimeout
                actions.append(.signal(15, to: old))
                if let phase = round?.participants[old], !phase.isDone {
                    let current = round
                    round?.participants[old] = .done(Self.failedReport(old, "it was replaced during the round", round: current))
                    actions += advance(at: now)
                }
            }
            // It started from the builds committed before a round that ran meanwhile: another brings it up to date.
            if missedRound {
                actions.append(.log(.info, "worker \(pid) started before the last reload round and took no part in it: reloading again"))
                actions += startRound(at: now)
            }
            return actions
        }
        guard let index = slots.firstIndex(where: { $0.pid == pid }) else { return [] }
        slots[index].serving = true
        slots[index].failedStarts = 0
        // A round came while this worker was starting: it may have loaded the old files, and took no part.
        if let began = lastRoundStartedAt, let started = slots[index].startedAt, started < began {
            return [.log(.info, "worker \(pid) started before the last reload round and took no part in it: reloading again")]
                + startRound(at: now)
        }
        return []
    }

    /// Starts a successor for `pid`'s slot, which takes over once it serves.
    mutating func replace(_ pid: Int32, reason: ReplacementReason, at now: Instant) -> [Action] {
        guard let index = slots.firstIndex(where: { $0.pid == pid }) else { return [] }
        // A hang journaled by the worker may quarantine a plugin: read the journal again (the I/O layer does).
        var actions: [Action] = []
        if reason == .hung { slots[index].replacing = .hung }
        guard slots[index].successor == 0 else { return actions }
        if !slots[index].serving {
            // Never served: nothing to hand over, it is killed and its slot restarted.
            slots[index].killed = true
            return [.log(.error, "worker \(pid) is replaced before it served (\(reason.rawValue)): killing it"), .signal(9, to: pid)]
        }
        slots[index].replacing = slots[index].replacing ?? reason
        actions.append(.log(.info, "worker \(pid) is replaced (\(reason == .hung ? "a plugin call in it hung" : "it keeps too many Swift images mapped")); starting its successor"))
        actions += spawn(index, successor: true, at: now)
        return actions
    }

    /// A worker ended: journal what it could not, fail its part of a round, schedule its replacement.
    mutating func exited(_ pid: Int32, _ termination: Termination, evidence: DeathEvidence, journal: [CrashRecord],
                         at now: Instant) -> [Action] {
        var actions: [Action] = []
        let fresh = journal.count >= records.count ? Array(journal[records.count...]) : journal
        records = journal
        endedWorkers += 1
        viewChanged = true
        foldSnapshot(of: pid)
        actions += collectionLost(pid, at: now)
        let wasRetiring = retiring.removeValue(forKey: pid) != nil
        let index = slotIndex(of: pid)
        let killedHere = index.map { slots[$0].killed && slots[$0].pid == pid } ?? false
        let expected = wasRetiring || killedHere || stopping
        var charged = false
        var line = "worker \(pid) \(Self.describe(termination))"
        if let own = fresh.last(where: { $0.pid == pid }) {
            line += ": \(own.line)"
            charged = own.alias != nil
        } else if !expected {
            let (journalLine, attributed, summary) = attribute(pid, termination, evidence: evidence)
            actions.append(.journal(journalLine))
            if let record = CrashRecord(line: String(journalLine.dropLast())) { records.append(record) }
            charged = attributed
            line += " (journaled from its in-flight record: \(summary))"
        }
        if let phase = round?.participants[pid], !phase.isDone {
            let current = round
            round?.participants[pid] = .done(Self.failedReport(pid, "the worker died during the round (\(Self.describe(termination)))", round: current))
            actions += advance(at: now)
        }
        if wasRetiring {
            actions.append(.log(.info, "replaced worker \(line)"))
        } else if let index, slots[index].successor == pid {
            // The successor died before serving: the old worker serves on and may ask again.
            slots[index].successor = 0
            actions.append(.log(.error, "successor \(line) before serving"))
        } else if let index {
            actions += slotLost(index, pid: pid, line: line, charged: charged, expected: expected, at: now)
        }
        actions += quarantineIfDue(at: now)
        return actions
    }

    /// The worker of `index` is gone: replaced at once, later, or (past the give-up rule) never.
    private mutating func slotLost(_ index: Int, pid: Int32, line: String, charged: Bool, expected: Bool, at now: Instant) -> [Action] {
        let lived = slots[index].startedAt.map { now - $0 } ?? .zero
        let served = slots[index].serving
        var actions: [Action] = [.log(stopping ? .info : .error, "\(line) after \(Self.format(lived))")]
        slots[index].pid = 0
        slots[index].serving = false
        slots[index].killed = false
        slots[index].restarts += 1
        guard !stopping else { return actions }
        if !served && !charged && !expected {
            slots[index].failedStarts += 1
            if slots[index].failedStarts >= configuration.startAttempts {
                stopping = true
                return actions + [.log(.critical, "worker slot \(index) died \(slots[index].failedStarts) times in a row before it ever served (start-attempts = \(configuration.startAttempts)): stopping the host"),
                                  .stopAndExit(status: 1)]
            }
        }
        // A worker that ran a while is replaced at once; one that keeps dying soon after its start
        // waits 100 ms, 200 ms, … up to 5 s.
        if lived > .seconds(10) { slots[index].restartDelay = .zero }
        let delay = slots[index].restartDelay
        slots[index].restartAt = now + delay
        slots[index].restartDelay = min(max(delay * 2, .milliseconds(100)), .seconds(5))
        if delay == .zero { actions += spawn(index, at: now) }
        return actions
    }

    /// Restarts that are due, retiring workers past their time, a round past its deadline.
    mutating func tick(at now: Instant) -> [Action] {
        var actions: [Action] = []
        for index in slots.indices where slots[index].pid == 0 && !slots[index].spawning && !stopping {
            if let due = slots[index].restartAt, due > now { continue }
            actions += spawn(index, at: now)
        }
        // A predecessor that did not say it stopped accepting in time: its successor starts anyway.
        for index in slots.indices {
            guard let handover = slots[index].handover, handover.deadline <= now else { continue }
            slots[index].handover = nil
            actions.append(.send(.acceptConnections, to: handover.successor))
        }
        for (pid, due) in retiring where due <= now {
            actions.append(.log(.error, "replaced worker \(pid) has not exited: killing it"))
            actions.append(.signal(9, to: pid))
            retiring[pid] = now + .seconds(3600)
        }
        if let round, round.deadline <= now { actions += roundTimedOut(at: now) }
        actions += collectionsDue(at: now)
        return actions
    }

    /// After the journal changed: a build newly quarantined that a committed generation runs
    /// makes every serving worker reload (which leaves it out; its replacements start without it).
    mutating func quarantineIfDue(at now: Instant) -> [Action] {
        let now2 = QuarantineList.evaluate(records, limit: configuration.crashLimit, window: configuration.crashWindow)
        let fresh = now2.builds.values.joined().filter { quarantine.entry(alias: $0.alias, sha256: $0.sha256) == nil }
        quarantine = now2
        guard !fresh.isEmpty else { return [] }
        viewChanged = true
        var actions: [Action] = fresh.sorted { $0.alias < $1.alias }.map { .log(.error, "plugin '\($0.alias)' is \($0.reason)") }
        let running = fresh.contains { entry in
            committedBuilds.isEmpty || committedBuilds.contains { $0.alias == entry.alias && $0.sha256 == entry.sha256 }
        }
        if running {
            actions += startRound(at: now)
        }
        return actions
    }

    static func describe(_ termination: Termination) -> String {
        switch termination {
        case .exited(let status): "exited with status \(status)"
        case .signaled(let signal): "died of \(SignalNames.name(signal))"
        }
    }

    static func format(_ duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        return milliseconds >= 10_000 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
    }
}

/// Signal names as the journal writes them.
public enum SignalNames {
    /// "SIGSEGV", "SIGKILL", …; "signal N" for others.
    public static func name(_ signal: Int32) -> String {
        switch signal {
        case 1: "SIGHUP"
        case 2: "SIGINT"
        case 4: "SIGILL"
        case 5: "SIGTRAP"
        case 6: "SIGABRT"
        case 7: "SIGBUS"
        case 8: "SIGFPE"
        case 9: "SIGKILL"
        case 11: "SIGSEGV"
        case 13: "SIGPIPE"
        case 15: "SIGTERM"
        case 31: "SIGSYS"
        default: "signal \(signal)"
        }
    }
}
