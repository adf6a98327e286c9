#if canImport(Glibc)
import Glibc
#endif
import CProcessControl
import PluginSupervisor

/// This executable run again as a child process that may crash or hang (a probe,
/// a validation test): its output, and how it ended, with a time limit. Spawned
/// directly (not with Foundation's `Process`, which LeakSanitizer flags in sanitizer builds).
struct ChildProcess {
    /// How a child ended.
    struct Outcome {
        var output: String
        var errors: String
        /// Killed past the time limit.
        var timedOut: Bool
        /// The signal that ended it, if one did (SIGKILL after a time-out).
        var signal: Int32?
        /// Its exit status, when it exited.
        var exitCode: Int32?
    }

    /// Runs this executable with `arguments` (after the executable path), killing it after `timeLimit` seconds.
    /// Nil when it cannot be started (`errno` says why).
    static func run(_ arguments: [String], timeLimit: Double, environment extra: [String: String] = [:]) -> Outcome? {
        let executable = ChildEnvironment.executablePath
        let argv = [executable] + arguments
        let envp = ChildEnvironment.make(extra)
        var output: Int32 = -1
        var errors: Int32 = -1
        let pid = CStrings.with(argv) { cArgv in CStrings.with(envp) { cEnvp in ph_spawn_captured(executable, cArgv, cEnvp, &output, &errors) } }
        guard pid > 0 else { return nil }
        let (text, errorText, timedOut) = collect(output: output, errors: errors, pid: pid, timeLimit: timeLimit)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7f
        return Outcome(output: text, errors: errorText, timedOut: timedOut, signal: signal != 0 ? signal : nil,
                       exitCode: signal == 0 ? (status >> 8) & 0xff : nil)
    }

    /// Reads the child's output and errors until both close, killing it past `timeLimit` seconds.
    private static func collect(output: Int32, errors: Int32, pid: pid_t, timeLimit: Double) -> (String, String, Bool) {
        defer { close(output); close(errors) }
        var buffers: [Int32: [UInt8]] = [output: [], errors: []]
        var open: Set<Int32> = [output, errors]
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeLimit * 1000))
        var timedOut = false
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !open.isEmpty {
            if !timedOut && ContinuousClock.now > deadline {
                kill(pid, SIGKILL)
                timedOut = true
            }
            var descriptors = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            guard poll(&descriptors, nfds_t(descriptors.count), 100) >= 0 || errno == EINTR else { break }
            for descriptor in descriptors where descriptor.revents != 0 {
                let count = read(descriptor.fd, &chunk, chunk.count)
                if count > 0 { buffers[descriptor.fd]!.append(contentsOf: chunk[0..<count]) } else { open.remove(descriptor.fd) }
            }
        }
        return (String(decoding: buffers[output]!, as: UTF8.self), String(decoding: buffers[errors]!, as: UTF8.self), timedOut)
    }
}
