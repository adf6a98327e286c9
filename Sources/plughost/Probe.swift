#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CHostSystem
import Foundation
import PluginRuntime

/// `plughost probe LIBRARY…` (hidden): loads each library as a check does,
/// printing `probed PATH` after each one that did not kill this process. Run by
/// ``ProcessProbe`` so that a library whose relocations, constructors or entry
/// point crash takes down this process, not the host.
struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load libraries in this process and report each one that did not crash it (used by serve, check and list).",
        shouldDisplay: false)

    @Argument(help: "Libraries to load.")
    var libraries: [String]

    @Option(help: "The host config (permissions, pins, signatures and plugin tables apply).")
    var config: String?

    @Flag(help: "No ownership or mode checks.")
    var unsafePermissions = false

    func run() throws {
        var config = HostConfig()
        if let path = self.config { config = (try? HostConfig.load(path: path, checkingPermissions: !unsafePermissions)) ?? config }
        config.strictPermissions = config.strictPermissions && !unsafePermissions
        for library in libraries {
            _ = PluginChecker.check(path: library, config: config)
            print("probed\t\(library)")
            fflush(nil)  // each line out before the next library can crash this process
        }
    }
}

/// Loads libraries in a `plughost probe` child process first (see ``LibraryProbe``).
enum ProcessProbe {
    /// How long a probe may take before it is taken for hung.
    static let timeLimit: TimeInterval = 20

    /// Installs the probe for this process, with the host config at `config`.
    /// - Parameter record: Where digests that passed are kept for later processes (serve's state folder).
    static func install(config: String?, unsafePermissions: Bool, record: String? = nil) {
        LibraryProbe.install({ libraries in probe(libraries, config: config, unsafePermissions: unsafePermissions) }, record: record)
    }

    /// Probes `libraries`; after a crash, the library being loaded is charged and the rest probed again.
    static func probe(_ libraries: [String], config: String?, unsafePermissions: Bool) -> [String: String] {
        var failures: [String: String] = [:]
        var remaining = libraries
        while !remaining.isEmpty {
            let (probed, failure) = run(remaining, config: config, unsafePermissions: unsafePermissions)
            guard let failure else { break }
            // The first library without its "probed" line is the one that was loading.
            guard let culprit = remaining.first(where: { !probed.contains($0) }) else { break }
            failures[culprit] = failure
            remaining = Array(remaining.drop { $0 != culprit }.dropFirst())
        }
        return failures
    }

    /// Runs one probe process: the libraries it reported, and why it ended early (nil when it finished).
    /// Spawned directly (not with Foundation's `Process`, which LeakSanitizer flags in sanitizer builds).
    private static func run(_ libraries: [String], config: String?, unsafePermissions: Bool) -> (Set<String>, String?) {
        let executable = Supervisor.executablePath
        let argv = [executable, "probe"] + (config.map { ["--config", $0] } ?? []) + (unsafePermissions ? ["--unsafe-permissions"] : []) + libraries
        let envp = Supervisor.childEnvironment()
        var output: Int32 = -1
        var errors: Int32 = -1
        let pid = CStrings.with(argv) { cArgv in CStrings.with(envp) { cEnvp in ph_spawn_captured(executable, cArgv, cEnvp, &output, &errors) } }
        guard pid > 0 else { return ([], "cannot start a probe process: \(String(cString: strerror(errno)))") }
        let (text, errorText, timedOut) = collect(output: output, errors: errors, pid: pid)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let probed = Set(text.split(separator: "\n").compactMap { line in
            line.hasPrefix("probed\t") ? String(line.dropFirst("probed\t".count)) : nil
        })
        let signal = status & 0x7f
        if timedOut { return (probed, "it did not finish loading within \(Int(timeLimit)) s (killed)") }
        if signal != 0 { return (probed, "\(signalName(signal)) while loading (relocations, constructors or the entry point)") }
        let code = (status >> 8) & 0xff
        if code == 0 { return (probed, nil) }
        // ld.so's "Inconsistency detected" exits 127; a sanitizer that catches the signal exits too.
        let detail = errorText.split(separator: "\n").last { !$0.hasPrefix("plughost: fatal signal") }.map { ": \($0)" } ?? ""
        return (probed, "exited with status \(code) while loading\(detail)")
    }

    /// Reads the child's output and errors until both close, killing it past ``timeLimit``.
    private static func collect(output: Int32, errors: Int32, pid: pid_t) -> (String, String, Bool) {
        defer { close(output); close(errors) }
        var buffers: [Int32: [UInt8]] = [output: [], errors: []]
        var open: Set<Int32> = [output, errors]
        let deadline = ContinuousClock.now + .seconds(timeLimit)
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

    private static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGSEGV: "SIGSEGV"
        case SIGBUS: "SIGBUS"
        case SIGILL: "SIGILL"
        case SIGFPE: "SIGFPE"
        case SIGABRT: "SIGABRT"
        case SIGTRAP: "SIGTRAP"
        default: "signal \(signal)"
        }
    }
}
