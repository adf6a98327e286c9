#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import PluginRuntime

/// One reload round across the workers: prepare everywhere, then swap.
struct ReloadRoundState {
    /// Where one worker stands in the round.
    enum Phase {
        /// Asked to prepare; no answer yet.
        case preparing
        /// Built and started the new generation off to the side; waits for the verdict.
        case prepared
        /// Finished (swapped, undone or failed), with its final report (nil: it died).
        case done(WorkerReloadReport?)
    }

    let number: Int
    let startedAt: UInt64
    var participants: [pid_t: Phase]
    /// Whether commit or abort went out.
    var decided = false
    /// A round that takes longer is ended: workers that did not answer count as failed.
    let deadline: ContinuousClock.Instant
}

/// Reload rounds and the supervisor's view, driven by the messages of ``ControlChannel``.
///
/// A round asks every serving worker to prepare (build and start the new
/// generation off to the side, `runtime.reload(gate:)`), and only when every one
/// prepared tells them all to swap; if any failed, died or did not answer, the
/// others undo theirs and every worker keeps serving its generation. The
/// combined report (one entry per worker) goes to `<pid file>.reload` and to
/// every worker, for `POST /_plughost/reload`. A reload asked for during a round
/// runs once more after it.
extension Supervisor {
    /// Starts a round now, or after the one under way.
    func startRound() {
        guard round == nil else {
            roundPending = true
            return
        }
        roundPending = false
        lastRound += 1
        lastRoundStartedAt = .now
        let startedAt = WallClock.nanoseconds()
        let serving = slots.filter { $0.pid > 0 && $0.serving && controls[$0.pid] != nil }.map(\.pid)
        guard !serving.isEmpty else {
            finish(CombinedReload(startedAt: startedAt, failure: "no worker serves yet"), number: lastRound)
            return
        }
        round = ReloadRoundState(number: lastRound, startedAt: startedAt,
                                 participants: Dictionary(uniqueKeysWithValues: serving.map { ($0, .preparing) }),
                                 deadline: .now + stopTimeout + .seconds(60))
        for pid in serving { controls[pid]?.send("prepare", String(lastRound)) }
    }

    /// Handles one message from worker `pid`.
    func handle(_ message: (verb: String, text: String), from pid: pid_t) {
        switch message.verb {
        case "serving":
            serves(pid)
        case "reload":
            startRound()
        case "prepared":
            guard let (number, _) = roundAndRest(message.text), number == round?.number else { return }
            round?.participants[pid] = .prepared
            advance()
        case "refused", "done":
            guard let (number, json) = roundAndRest(message.text), number == round?.number else { return }
            let report = try? JSONDecoder().decode(WorkerReloadReport.self, from: Data(json.utf8))
            round?.participants[pid] = .done(report ?? WorkerReloadReport(
                succeeded: false, generation: 0, summary: "unreadable report", problems: ["unreadable report from worker \(pid)"],
                added: [], changed: [], removed: []))
            advance()
        default:
            logger.warning("worker \(pid) sent an unknown message '\(message.verb)'")
        }
    }

    /// A worker died or was replaced: in a round, it counts as failed.
    func workerGone(_ pid: pid_t) {
        guard let phase = round?.participants[pid] else { return }
        if case .done = phase { return }
        round?.participants[pid] = .done(nil)
        advance()
    }

    /// The round ran past its deadline: whoever did not answer failed.
    func roundTimedOut() {
        guard let current = round else { return }
        logger.error("reload round \(current.number) ran past its deadline: workers that did not answer count as failed")
        for (pid, phase) in current.participants {
            if case .done = phase { continue }
            round?.participants[pid] = .done(nil)
            controls[pid]?.send("abort", "\(current.number) the reload round ran past its deadline")
        }
        advance()
    }

    /// Decides once every worker prepared or failed; finishes once every one is done.
    private func advance() {
        guard let current = round else { return }
        let phases = Array(current.participants.values)
        if !current.decided {
            guard !phases.contains(where: { if case .preparing = $0 { true } else { false } }) else { return }
            let failed = phases.contains { if case .done = $0 { true } else { false } }
            round?.decided = true
            for (pid, phase) in current.participants {
                guard case .prepared = phase else { continue }
                if failed {
                    controls[pid]?.send("abort", "\(current.number) another worker failed to build the new generation")
                } else {
                    controls[pid]?.send("commit", String(current.number))
                }
            }
            if !failed || phases.allSatisfy({ if case .done = $0 { true } else { false } }) { return advance() }
            return
        }
        var reports: [(pid: Int32, report: WorkerReloadReport?)] = []
        for (pid, phase) in current.participants.sorted(by: { $0.key < $1.key }) {
            guard case .done(let report) = phase else { return }
            reports.append((pid, report))
        }
        round = nil
        finish(CombinedReload(startedAt: current.startedAt, reports: reports), number: current.number)
        if roundPending { startRound() }
    }

    /// Records the round's combined report and tells every worker.
    private func finish(_ combined: CombinedReload, number: Int) {
        if combined.succeeded {
            logger.info("\(combined.summary)")
        } else {
            logger.error("\(combined.summary)")
        }
        do {
            try files.writeReload(json: combined.json)
        } catch {
            logger.warning("\(error)")
        }
        for channel in controls.values { channel.send("result", "\(number) \(combined.json)") }
        lastView = ""
    }

    /// Sends the supervisor's view to every worker when it changed (they show it in `/_plughost/plugins`).
    func sendViewIfChanged() {
        guard lastView.isEmpty else { return }
        let view = SupervisorView(supervisor: getpid(), slots: slots, quarantine: quarantine,
                                  crashes: CrashJournal.records(path: journal), lastRound: lastRound)
        lastView = view.json
        for channel in controls.values { channel.send("view", lastView) }
    }
}

/// What the supervisor knows that no worker does, as `/_plughost/plugins` shows it under `supervisor`.
struct SupervisorView: Encodable {
    struct Worker: Encodable {
        var slot: Int
        var pid: Int32
        var serving: Bool
        var restarts: Int
        var successor: Int32?
    }
    struct Quarantined: Encodable {
        var alias: String
        var sha256: String
        var crashes: Int
        var reason: String
    }
    var pid: Int32
    var workers: [Worker]
    /// Journaled crashes and hangs by alias (all time, lifts included).
    var crashes: [String: Int]
    /// The hangs among them (`signal=HANG`), by alias.
    var hangs: [String: Int]
    var quarantined: [Quarantined]
    var reloadRounds: Int

    private enum CodingKeys: String, CodingKey {
        case pid, workers, crashes, hangs, quarantined
        case reloadRounds = "reload_rounds"
    }

    init(supervisor: pid_t, slots: [Supervisor.Slot], quarantine: QuarantineList, crashes records: [CrashRecord], lastRound: Int) {
        pid = supervisor
        workers = slots.enumerated().map { index, slot in
            Worker(slot: index, pid: slot.pid, serving: slot.serving, restarts: slot.restarts, successor: slot.successor > 0 ? slot.successor : nil)
        }
        var counts: [String: Int] = [:]
        var hangCounts: [String: Int] = [:]
        for record in records where !record.isLift {
            for alias in (record.alias ?? "-").split(separator: ",") {
                counts[String(alias), default: 0] += 1
                if record.signal == "HANG" { hangCounts[String(alias), default: 0] += 1 }
            }
        }
        crashes = counts
        hangs = hangCounts
        quarantined = quarantine.entries.values.sorted { $0.alias < $1.alias }.map {
            Quarantined(alias: $0.alias, sha256: $0.sha256, crashes: $0.crashes, reason: $0.reason)
        }
        reloadRounds = lastRound
    }

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
