import Logging
import PluginRuntime
@testable import PluginSupervisor

/// A state machine under test with a clock of its own and helpers that play the
/// I/O layer: every spawn it asks for succeeds with the next pid.
struct StateMachineHarness {
    var machine: SupervisorStateMachine
    var now = ContinuousClock.now
    var nextPID: Int32 = 100
    /// Every action so far, oldest first.
    var actions: [SupervisorStateMachine.Action] = []

    init(workers: Int = 2, configure: (inout HostConfig) -> Void = { _ in }, records: [CrashRecord] = []) {
        var config = HostConfig()
        config.crashLimit = 3
        config.crashWindowSeconds = 60
        config.lifecycleTimeout = .seconds(2)
        config.workerStall = .seconds(3)
        config.startAttempts = 3
        configure(&config)
        machine = SupervisorStateMachine(configuration: .init(workers: workers, supervisorPID: 1, config: config), records: records)
    }

    /// Feeds `event`, answering spawn actions with new pids; returns the actions it caused.
    @discardableResult
    mutating func handle(_ event: SupervisorStateMachine.Event) -> [SupervisorStateMachine.Action] {
        var produced: [SupervisorStateMachine.Action] = []
        var queue = [event]
        while !queue.isEmpty {
            let next = queue.removeFirst()
            for action in machine.handle(next) {
                produced.append(action)
                if case .spawn(let slot, let successor) = action {
                    nextPID += 1
                    queue.append(.spawned(slot: slot, pid: nextPID, successor: successor, at: now))
                }
            }
        }
        actions += produced
        return produced
    }

    /// Starts every slot and has each worker say it serves.
    mutating func startServing() {
        handle(.begin(at: now))
        for pid in machine.workerPIDs { handle(.message(.serving, from: pid, at: now)) }
    }

    /// Moves the clock on.
    mutating func advance(_ duration: Duration) {
        now = now + duration
        handle(.tick(at: now))
    }

    /// The worker in `slot`.
    func pid(_ slot: Int) -> Int32 { machine.slots[slot].pid }

    /// Journal lines among `actions`.
    static func journaled(_ actions: [SupervisorStateMachine.Action]) -> [String] {
        actions.compactMap { if case .journal(let line) = $0 { line } else { nil } }
    }

    /// Messages sent among `actions`, with their recipients.
    static func sent(_ actions: [SupervisorStateMachine.Action]) -> [(ControlMessage, Int32)] {
        actions.compactMap { if case .send(let message, let pid) = $0 { (message, pid) } else { nil } }
    }

    /// Log lines among `actions`.
    static func logged(_ actions: [SupervisorStateMachine.Action]) -> [String] {
        actions.compactMap { if case .log(_, let text) = $0 { text } else { nil } }
    }

    /// Whether `actions` stop the host with `status`.
    static func stops(_ actions: [SupervisorStateMachine.Action], status: Int32) -> Bool {
        actions.contains(.stopAndExit(status: status))
    }

    /// A build as a page names it.
    static func build(_ alias: String, sha: String = String(repeating: "a", count: 64)) -> JournaledBuild {
        JournaledBuild(alias: alias, manifestVersion: "1.0.0", pluginVersion: "1.0.0", sha256: sha)
    }

    /// A report of a successful reload.
    static func swapped(generation: Int = 2) -> ReloadReport {
        ReloadReport(succeeded: true, generation: generation, startedAt: 1)
    }
}
