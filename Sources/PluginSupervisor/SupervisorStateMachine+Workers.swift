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
            // A fresh worker: nothing of the one before it carries over.
            slots[slot].pid = pid
            slots[slot].serving = false
            slots[slot].spawning = false
            slots[slot].killed = false
            slots[slot].startedAt = now
            slots[slot].replacing = nil
            slots[slot].handoverDeadline = nil
            slots[slot].successorDueAt = nil
        }
        viewChanged = true
    }

    /// A worker could not be started: a slot's counts toward giving up and is tried again in a
    /// second; a successor's is tried again later (its predecessor serves on meanwhile).
    mutating func spawnFailed(_ slot: Int, successor: Bool, reason: String, at now: Instant) -> [Action] {
        if successor {
            return [.log(.error, "cannot start a successor for worker \(slots[slot].pid): \(reason)")] + successorFailed(slot, at: now)
        }
        slots[slot].spawning = false
        slots[slot].failedStarts += 1
        if slots[slot].failedStarts >= configuration.startAttempts {
            stopping = true
            return [.log(.critical, "cannot start worker \(slot) (\(reason)), \(slots[slot].failedStarts) times in a row (start-attempts = \(configuration.startAttempts)): stopping the host"),
                    .stopAndExit(status: 1)]
        }
        slots[slot].restartAt = now + .seconds(1)
        return [.log(.error, "cannot start worker \(slot): \(reason); trying again in 1 s")]
    }

    /// A successor failed to start, died or hung before it served: while its predecessor still
    /// has to be replaced, another is started after a delay (1 s, doubling up to 30 s).
    mutating func successorFailed(_ slot: Int, at now: Instant) -> [Action] {
        slots[slot].successor = 0
        slots[slot].handoverDeadline = nil
        guard slots[slot].replacing != nil, slots[slot].pid > 0 else { return [] }
        let delay = min(Duration.seconds(1) * (1 << min(slots[slot].failedSuccessors, 5)), .seconds(30))
        slots[slot].failedSuccessors += 1
        slots[slot].successorDueAt = now + delay
        return [.log(.info, "another successor for worker \(slots[slot].pid) starts in \(Self.format(delay))")]
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
            // Permanent stops the host only when nothing serves: a worker that does keeps serving
            // what it committed (a bad config edit must not take down a running host).
            guard permanent, servingPIDs.isEmpty else { return [.log(.error, "worker \(pid) could not start: \(reason)")] }
            stopping = true
            return [.log(.critical, "worker \(pid) cannot start, and a restart would not change that: \(reason)"),
                    .log(.critical, "stopping the host"), .stopAndExit(status: 1)]
        case .askReload:
            return startRound(at: now)
        case .prepared(let number):
            // Only from a worker asked to prepare: a late answer never undoes what was decided for it.
            guard number == round?.number, case .preparing = round?.participants[pid] else { return [] }
            round?.participants[pid] = .prepared
            return advance(at: now)
        case .finished(let number, let report):
            guard number == round?.number, let phase = round?.participants[pid], !phase.isDone else { return [] }
            if case .waiting = phase { return [] }
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
        slots[index].handoverDeadline = now + Self.quiesceWait
        return [.send(.quiesce, to: old)]
    }

    /// The predecessor stopped accepting: its successor may start.
    private mutating func predecessorQuiesced(_ pid: Int32) -> [Action] {
        guard let index = slots.firstIndex(where: { $0.pid == pid }), slots[index].handoverDeadline != nil else { return [] }
        slots[index].handoverDeadline = nil
        return [.send(.acceptConnections, to: slots[index].successor)]
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
            slots[index].successorDueAt = nil
            slots[index].failedSuccessors = 0
            slots[index].startedAt = now
            slots[index].serving = true
            slots[index].failedStarts = 0
            if old > 0 {
                retiring[old] = killNow ? now + .seconds(2) : now + configuration.stopTimeout
                actions.append(.signal(15, to: old))
                actions += failInRound(old, "it was replaced during the round", at: now)
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
        _ = readJournal(journal)
        let own = linesByPid.removeValue(forKey: pid)
        endedWorkers += 1
        viewChanged = true
        foldSnapshot(of: pid)
        actions += collectionLost(pid, at: now)
        let wasRetiring = retiring.removeValue(forKey: pid) != nil || killedRetiring.remove(pid) != nil
        let index = slotIndex(of: pid)
        let killedHere = index.map { slots[$0].killed && slots[$0].pid == pid } ?? false
        let expected = wasRetiring || killedHere || stopping
        var charged = false
        var line = "worker \(pid) \(Self.describe(termination))"
        if let own {
            line += ": \(own.line)"
            charged = own.alias != nil
        } else if !expected {
            let (journalLine, attributed, summary) = attribute(pid, termination, evidence: evidence)
            actions += appendJournal(journalLine)
            charged = attributed
            line += " (journaled from its in-flight record: \(summary))"
        }
        actions += failInRound(pid, "the worker died during the round (\(Self.describe(termination)))", at: now)
        if wasRetiring {
            actions.append(.log(.info, "replaced worker \(line)"))
        } else if let index, slots[index].successor == pid {
            // The successor died before serving: the old worker serves on; another successor follows.
            actions.append(.log(.error, "successor \(line) before serving"))
            actions += successorFailed(index, at: now)
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
        overdueSeen = overdueSeen.filter { !$0.hasPrefix("\(pid)/") }
        slots[index].serving = false
        slots[index].killed = false
        slots[index].replacing = nil
        slots[index].successorDueAt = nil
        slots[index].failedSuccessors = 0
        slots[index].restarts += 1
        let successor = slots[index].successor
        let handover = slots[index].handoverDeadline != nil
        slots[index].handoverDeadline = nil
        guard !stopping else {
            slots[index].pid = 0
            return actions
        }
        if successor > 0 {
            // Its successor was starting: it takes the slot now instead of a fresh worker beside it.
            slots[index].pid = successor
            slots[index].successor = 0
            slots[index].startedAt = slots[index].successorStartedAt
            actions.append(.log(.info, "worker \(successor), its successor, takes the slot"))
            if handover { actions.append(.send(.acceptConnections, to: successor)) }
            return actions
        }
        slots[index].pid = 0
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
        for index in slots.indices {
            // A predecessor that did not say it stopped accepting in time: its successor starts anyway.
            if let deadline = slots[index].handoverDeadline, deadline <= now {
                slots[index].handoverDeadline = nil
                actions.append(.send(.acceptConnections, to: slots[index].successor))
            }
            // A successor to start again.
            if let due = slots[index].successorDueAt, due <= now, slots[index].successor == 0, !stopping {
                slots[index].successorDueAt = nil
                actions += spawn(index, successor: true, at: now)
            }
            actions += startOverdue(index, at: now)
        }
        for (pid, due) in retiring where due <= now {
            actions.append(.log(.error, "replaced worker \(pid) has not exited: killing it"))
            actions.append(.signal(9, to: pid))
            retiring.removeValue(forKey: pid)
            killedRetiring.insert(pid)
        }
        if let round, round.deadline <= now { actions += roundTimedOut(at: now) }
        actions += collectionsDue(at: now)
        return actions
    }

    /// A worker or successor that has not begun serving within the round deadline (stuck outside
    /// any timed call, so nothing else notices) is killed: a fresh one's slot restarts, a
    /// successor's predecessor serves on and gets another.
    private mutating func startOverdue(_ index: Int, at now: Instant) -> [Action] {
        let limit = configuration.roundDeadline
        var actions: [Action] = []
        let slot = slots[index]
        if slot.pid > 0, !slot.serving, !slot.killed, let started = slot.startedAt, now - started > limit {
            slots[index].killed = true
            actions += [.log(.error, "worker \(slot.pid) has not begun serving within \(Self.format(limit)): killing it"), .signal(9, to: slot.pid)]
        }
        if slot.successor > 0, let started = slot.successorStartedAt, now - started > limit {
            actions += [.log(.error, "successor \(slot.successor) has not begun serving within \(Self.format(limit)): killing it"),
                        .signal(9, to: slot.successor)]
            killedRetiring.insert(slot.successor)
            actions += successorFailed(index, at: now)
        }
        return actions
    }

    /// Takes the crash journal as read now; returns the lines new since the last read (the lines
    /// written here that it shows left out: they are known already).
    mutating func readJournal(_ journal: [CrashRecord]) -> [CrashRecord] {
        var fresh = journal.count >= journalLinesRead ? Array(journal[journalLinesRead...]) : journal
        let shown = Set(fresh.map(\.line))
        fresh.removeAll { line in ownLines.contains { $0.line == line.line } }
        ownLines.removeAll { shown.contains($0.line) }
        journalLinesRead = journal.count
        records = journal + ownLines
        for line in fresh { linesByPid[line.pid] = line }
        // Lines of processes that never end as workers here (probes, inspections) are not kept for ever.
        if linesByPid.count > 256, let oldest = linesByPid.keys.min() { linesByPid.removeValue(forKey: oldest) }
        return fresh
    }

    /// Appends `line` (ending in a newline) to the journal, and to the records at once.
    mutating func appendJournal(_ line: String) -> [Action] {
        if let record = CrashRecord(line: String(line.dropLast())) {
            records.append(record)
            ownLines.append(record)
        }
        return [.journal(line)]
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
        let milliseconds = duration.wholeMilliseconds
        return milliseconds >= 10_000 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
    }
}
