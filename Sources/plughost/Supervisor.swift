#if canImport(Glibc)
import Glibc
#endif
import CHostSystem
import Foundation
import Logging
import PluginRuntime

/// `plughost serve --workers N`: the process that owns the listening sockets and
/// the pid file for the life of the host and runs no plugin code; N worker
/// processes load the plugins and serve from the socket they inherit.
///
/// Each worker slot has its own listening socket on the one port
/// (`SO_REUSEPORT`, as nginx's `reuseport`): the kernel spreads connections over
/// the sockets, no worker is woken for a connection another takes (one shared
/// socket wakes every worker for each connection), and a socket whose worker is
/// being replaced keeps its backlog, so its connections wait for the new
/// worker instead of being refused.
///
/// - A worker that dies is replaced: at once the first time, then after a delay
///   that doubles (up to 5 s) while replacements keep dying within 10 s.
///   A death by signal is logged with the crash journal's line for that pid.
/// - SIGHUP is forwarded to every worker (each reloads its own generation).
/// - A worker that keeps more Swift images mapped than `[host] max-retained-images`
///   asks (SIGUSR1) to be replaced: its successor starts on the same socket, says
///   (SIGUSR2) when it serves, and only then the old worker drains and exits, which
///   returns the images' memory with no request refused.
/// - SIGTERM and SIGINT are forwarded; the supervisor waits for the workers to
///   drain and exit, then removes the pid file and exits.
///
/// Signals arrive through a self-pipe the loop polls, so the supervisor is a
/// plain loop that runs no plugin code and needs no event loop.
struct Supervisor {
    let workers: Int
    /// One listening socket per worker slot.
    let sockets: [Int32]
    let workerArguments: [String]
    let files: HostFiles
    let journal: String
    /// The host config: its crash limit and window decide quarantines.
    let config: HostConfig
    let logger: Logger
    /// How long workers get to drain after SIGTERM before they are killed.
    let stopTimeout: Duration

    /// One worker slot: the process running in it and how it has been faring.
    private struct Slot {
        var pid: pid_t = 0
        /// A worker started to take over from `pid` (which asked to be replaced), until it serves.
        var successor: pid_t = 0
        /// `pid` asked to be replaced because a plugin call in it hung: killed once the successor serves.
        var hung = false
        var startedAt = ContinuousClock.now
        var restartDelay: Duration = .zero
        var restartAt: ContinuousClock.Instant?
        var restarts = 0
    }

    /// Runs until SIGTERM or SIGINT; returns the exit status.
    func run() -> Int32 {
        let signals = ph_supervisor_signals()
        guard signals >= 0 else {
            logger.critical("cannot set up signal handling: \(String(cString: strerror(errno)))")
            return 1
        }

        var slots = Array(repeating: Slot(), count: workers)
        for index in slots.indices { start(&slots[index], number: index) }
        do {
            try files.writePid()
        } catch {
            logger.critical("\(error)")
        }
        logger.info("supervising \(workers) worker(s) (pids \(slots.map { String($0.pid) }.joined(separator: ", ")))")

        /// Workers that were replaced and are draining, with when to kill one that
        /// hung (it cannot finish its stuck call): their exit is no crash.
        var retiring: [pid_t: ContinuousClock.Instant] = [:]
        let hungSignal = ph_hung_worker_signal()
        var quarantine = QuarantineList.read(journal: journal, config: config)
        while true {
            var sender: pid_t = 0
            let next = ph_supervisor_next_signal(signals, 100, &sender)
            switch next {
            case SIGHUP:
                logger.info("SIGHUP: reloading every worker")
                for slot in slots where slot.pid > 0 { kill(slot.pid, SIGHUP) }
            case SIGTERM, SIGINT:
                logger.info("shutting down: stopping \(slots.filter { $0.pid > 0 }.count) worker(s)")
                for pid in retiring.keys { kill(pid, SIGTERM) }
                stopAll(&slots)
                files.removePid()
                return 0
            case SIGUSR1, hungSignal:
                // A worker asks to be replaced (it keeps too many Swift images mapped, or a
                // plugin call in it hung): its successor starts on the same socket and takes
                // over once it serves.
                if let index = slots.firstIndex(where: { $0.pid == sender && $0.successor == 0 }) {
                    let hung = next == hungSignal
                    logger.info("worker \(sender) asked to be replaced\(hung ? " (a plugin call in it hung)" : ""); starting its successor")
                    var successor = Slot()
                    start(&successor, number: index)
                    slots[index].successor = successor.pid
                    slots[index].hung = hung
                }
                if next == hungSignal { quarantineIfDue(&quarantine, slots: slots) }
            case SIGUSR2:
                // A worker serves. A successor's predecessor now drains and exits.
                if let index = slots.firstIndex(where: { $0.successor == sender && sender > 0 }) {
                    let old = slots[index].pid
                    let hung = slots[index].hung
                    logger.info("worker \(sender) serves in place of worker \(old), which now drains\(hung ? " (killed in 2 s: a call in it hung)" : "")")
                    slots[index].pid = sender
                    slots[index].successor = 0
                    slots[index].hung = false
                    slots[index].startedAt = .now
                    retiring[old] = hung ? .now + .seconds(2) : .now + stopTimeout
                    kill(old, SIGTERM)
                }
            default:
                break
            }
            if reap(&slots, retiring: &retiring) { quarantineIfDue(&quarantine, slots: slots) }
            let now = ContinuousClock.now
            for (pid, due) in retiring where due <= now {
                logger.error("replaced worker \(pid) has not exited: killing it")
                kill(pid, SIGKILL)
                retiring[pid] = .now + .seconds(3600)
            }
            for index in slots.indices where slots[index].pid == 0 {
                if let due = slots[index].restartAt, due > now { continue }
                start(&slots[index], number: index)
            }
        }
    }

    /// Starts a worker in `slot`.
    private func start(_ slot: inout Slot, number: Int) {
        let executable = Self.executablePath
        let argv = [executable] + workerArguments
        let envp = Self.childEnvironment(["PLUGHOST_SUPERVISOR_PID": String(getpid())])
        let pid = CStrings.with(argv) { cArgv in
            CStrings.with(envp) { cEnvp in ph_spawn_worker(executable, cArgv, cEnvp, sockets[number], Serve.workerSocketDescriptor) }
        }
        guard pid > 0 else {
            logger.error("cannot start worker \(number): \(String(cString: strerror(errno))); trying again")
            slot.restartAt = .now + .seconds(1)
            return
        }
        slot.pid = pid
        slot.startedAt = .now
        slot.restartAt = nil
    }

    /// After a worker crashed: when the journal now quarantines a plugin build it did
    /// not before, the workers still running reload, which leaves that plugin out
    /// (their replacements start without it anyway).
    private func quarantineIfDue(_ known: inout QuarantineList, slots: [Slot]) {
        let now = QuarantineList.read(journal: journal, config: config)
        let fresh = now.entries.values.filter { known.entry(alias: $0.alias, sha256: $0.sha256) == nil }
        known = now
        guard !fresh.isEmpty else { return }
        for entry in fresh { logger.error("plugin '\(entry.alias)' is \(entry.reason)") }
        for slot in slots where slot.pid > 0 { kill(slot.pid, SIGHUP) }
    }

    /// Collects every worker that exited and schedules its replacement.
    /// - Returns: Whether one died of a signal (a crash to weigh for quarantine).
    @discardableResult
    private func reap(_ slots: inout [Slot], retiring: inout [pid_t: ContinuousClock.Instant]) -> Bool {
        var crashed = false
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            guard pid > 0 else { return crashed }
            if status & 0x7f != 0 { crashed = true }
            if retiring.removeValue(forKey: pid) != nil {
                logger.info("replaced worker \(pid) \(describe(status: status, pid: pid))")
                continue
            }
            if let index = slots.firstIndex(where: { $0.successor == pid }) {
                // The successor died before serving: the old worker serves on and may ask again.
                logger.error("successor worker \(pid) \(describe(status: status, pid: pid)) before serving")
                slots[index].successor = 0
                continue
            }
            guard let index = slots.firstIndex(where: { $0.pid == pid }) else { continue }
            let lived = ContinuousClock.now - slots[index].startedAt
            logger.error("worker \(pid) \(describe(status: status, pid: pid)) after \(lived.formatted(.units(allowed: [.seconds, .milliseconds], width: .narrow)))")
            // A worker that ran a while before dying is replaced at once; one that keeps
            // dying soon after its start waits 100 ms, 200 ms, … up to 5 s.
            if lived > .seconds(10) { slots[index].restartDelay = .zero }
            let delay = slots[index].restartDelay
            slots[index].pid = 0
            slots[index].restarts += 1
            slots[index].restartAt = .now + delay
            slots[index].restartDelay = min(max(delay * 2, .milliseconds(100)), .seconds(5))
        }
    }

    /// How a worker ended, with the journal's line when a signal killed it.
    private func describe(status: Int32, pid: pid_t) -> String {
        let signal = status & 0x7f
        guard signal != 0 else { return "exited with status \((status >> 8) & 0xff)" }
        let name = String(cString: strsignal(signal))
        if let record = CrashJournal.records(path: journal).last(where: { $0.pid == pid }) {
            return "died of \(name): \(record.line)"
        }
        return "died of \(name) (no journal line: the fault was outside plugin code or the handler could not run)"
    }

    /// Forwards SIGTERM, waits for the workers to exit (killing them after `stopTimeout`).
    private func stopAll(_ slots: inout [Slot]) {
        for slot in slots where slot.successor > 0 { kill(slot.successor, SIGTERM) }
        for slot in slots where slot.pid > 0 { kill(slot.pid, SIGTERM) }
        let deadline = ContinuousClock.now + stopTimeout
        while slots.contains(where: { $0.pid > 0 }) {
            for index in slots.indices where slots[index].pid > 0 {
                var status: Int32 = 0
                if waitpid(slots[index].pid, &status, WNOHANG) == slots[index].pid { slots[index].pid = 0 }
            }
            if ContinuousClock.now > deadline {
                for index in slots.indices where slots[index].pid > 0 {
                    logger.error("worker \(slots[index].pid) did not stop within the drain time: killing it")
                    kill(slots[index].pid, SIGKILL)
                    var status: Int32 = 0
                    waitpid(slots[index].pid, &status, 0)
                    slots[index].pid = 0
                }
            }
            usleep(20_000)
        }
    }

    /// This process's environment for a child that runs plugin code, as `KEY=VALUE`
    /// strings, with `extra` added: the Swift runtime's backtracer would hold a
    /// crashing child for seconds (the crash journal records what is needed instead).
    static func childEnvironment(_ extra: [String: String] = [:]) -> [String] {
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        environment.merge(extra) { $1 }
        return environment.map { "\($0.key)=\($0.value)" }
    }

    /// This program's own file, for starting workers.
    static var executablePath: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

}

/// NULL-terminated C string arrays, for `argv` and `envp`.
enum CStrings {
    /// Calls `body` with `strings` as a NULL-terminated C array.
    static func with<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        var pointers = strings.map { strdup($0) } + [nil]
        defer { pointers.forEach { free($0) } }
        return pointers.withUnsafeMutableBufferPointer { body(UnsafePointer($0.baseAddress!)) }
    }
}
