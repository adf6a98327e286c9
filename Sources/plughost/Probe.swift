#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import PluginRuntime
import PluginSupervisor

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
    private static func run(_ libraries: [String], config: String?, unsafePermissions: Bool) -> (Set<String>, String?) {
        let arguments = ["probe"] + (config.map { ["--config", $0] } ?? []) + (unsafePermissions ? ["--unsafe-permissions"] : []) + libraries
        guard let outcome = ChildProcess.run(arguments, timeLimit: timeLimit) else {
            return ([], "cannot start a probe process: \(String(cString: strerror(errno)))")
        }
        let probed = Set(outcome.output.split(separator: "\n").compactMap { line in
            line.hasPrefix("probed\t") ? String(line.dropFirst("probed\t".count)) : nil
        })
        if outcome.timedOut { return (probed, "it did not finish loading within \(Int(timeLimit)) s (killed)") }
        if let signal = outcome.signal {
            return (probed, "\(SignalNames.name(signal)) while loading (relocations, constructors or the entry point)")
        }
        let code = outcome.exitCode ?? 0
        if code == 0 { return (probed, nil) }
        // ld.so's "Inconsistency detected" exits 127; a sanitizer that catches the signal exits too.
        let detail = outcome.errors.split(separator: "\n").last { !CrashJournal.isEcho($0) }.map { ": \($0)" } ?? ""
        return (probed, "exited with status \(code) while loading\(detail)")
    }
}
