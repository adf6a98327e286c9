import Logging
#if canImport(Glibc)
import Glibc
#endif
import PluginRuntime

/// Deaths a worker could not journal, lifecycle hangs and stalled workers.
extension SupervisorStateMachine {
    /// The journal line for worker `pid`'s death from its in-flight record.
    /// - Returns: The line, whether it charges a plugin, and a summary for the log.
    func attribute(_ pid: Int32, _ termination: Termination, evidence: DeathEvidence) -> (line: String, charged: Bool, summary: String) {
        let signal: String
        switch termination {
        case .exited(let status): signal = "EXIT:\(status)"
        case .signaled(let number): signal = SignalNames.name(number)
        }
        // The thread that ended the process, when the record says which: exit() was called on
        // it, or the crash handler began running on it.
        let culpritThread = evidence.exitingThread ?? evidence.faultingThread
        if let thread = culpritThread, let call = evidence.inFlight.first(where: { $0.thread == thread }), let build = call.build {
            let how = evidence.exitingThread != nil ? "exit(\(evidence.exitStatus)) was called" : "the crash handler began"
            let note = "\(how) on a thread inside a call into \(build.alias) (\(call.call))"
            return (CrashJournal.supervisorLine(pid: pid, signal: signal, build: build, call: call.call, inFlight: [], note: note), true,
                    "charged to \(build.alias): \(note)")
        }
        // One entry per build: several threads in one plugin are one suspect, not several.
        var seen = Set<String>()
        let known = evidence.inFlight.filter { call in
            guard let build = call.build else { return false }
            return seen.insert(build.alias + "/" + build.sha256).inserted
        }
        if known.count == 1, let only = known.first, let build = only.build, culpritThread == nil {
            let threads = evidence.inFlight.filter { $0.build?.alias == build.alias && $0.build?.sha256 == build.sha256 }.count
            let note = "the only plugin in flight was \(build.alias) (\(only.call)\(threads > 1 ? ", on \(threads) threads" : ""))"
            return (CrashJournal.supervisorLine(pid: pid, signal: signal, build: build, call: only.call, inFlight: [], note: note), true,
                    "charged to \(build.alias): \(note)")
        }
        let listed = known.compactMap { call in call.build.map { (build: $0, call: call.call) } }
        let note: String
        if listed.isEmpty {
            note = culpritThread != nil ? "the thread that ended it was in no plugin call" : "no plugin call was in flight"
        } else {
            note = "\(listed.count) plugin calls were in flight: \(listed.map { "\($0.build.alias) (\($0.call))" }.joined(separator: ", "))"
        }
        return (CrashJournal.supervisorLine(pid: pid, signal: signal, build: nil, call: nil, inFlight: culpritThread != nil ? [] : listed, note: note),
                false, "unattributed: \(note)")
    }

    /// A lifecycle call of worker `pid` ran past its deadline: journal the hang against its
    /// plugin, fail the round it holds up, and replace the worker (or kill one that never served).
    mutating func lifecycleOverdue(_ pid: Int32, call: InFlightCall, at now: Instant) -> [Action] {
        let key = "\(pid)/\(call.thread)/\(call.call)/\(call.build?.sha256 ?? "")"
        guard !overdueSeen.contains(key), let index = slotIndex(of: pid) else { return [] }
        overdueSeen.insert(key)
        let milliseconds = call.running.map { Self.format($0) } ?? "past \(Self.format(configuration.lifecycleTimeout))"
        let name = call.build?.alias ?? "an unknown plugin"
        let reason = "plugin '\(name)' hung in \(call.call) (running \(milliseconds), lifecycle-timeout-ms = \(configuration.lifecycleTimeout.wholeMilliseconds))"
        var actions: [Action] = [.log(.error, "worker \(pid): \(reason): the worker is replaced")]
        let line = CrashJournal.supervisorLine(pid: pid, signal: "HANG", build: call.build, call: call.call, inFlight: [],
                                               note: "a \(call.call) call into \(name) ran \(milliseconds)")
        actions += appendJournal(line)
        actions += failInRound(pid, reason, at: now)
        if slots[index].successor == pid {
            // A successor stuck while starting: the old worker serves on; this one goes, another follows.
            killedRetiring.insert(pid)
            actions.append(.signal(9, to: pid))
            actions += successorFailed(index, at: now)
        } else {
            actions += replace(pid, reason: .hung, at: now)
        }
        actions += quarantineIfDue(at: now)
        return actions
    }

    /// A serving worker stopped answering its health checks: replace it, the successor first.
    mutating func stalled(_ pid: Int32, silence: Duration, resources: String, at now: Instant) -> [Action] {
        guard let index = slots.firstIndex(where: { $0.pid == pid }), slots[index].serving, slots[index].successor == 0 else { return [] }
        let actions: [Action] = [.log(.error, "worker \(pid) has not answered its health check for \(Self.format(silence)) (worker-stall-ms = \(configuration.workerStall.wholeMilliseconds)): replacing it\(resources.isEmpty ? "" : "; it holds \(resources)")")]
        return actions + replace(pid, reason: .hung, at: now)
    }
}
