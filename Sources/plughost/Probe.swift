#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
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
    private static func run(_ libraries: [String], config: String?, unsafePermissions: Bool) -> (Set<String>, String?) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Supervisor.executablePath)
        process.arguments = ["probe"] + (config.map { ["--config", $0] } ?? []) + (unsafePermissions ? ["--unsafe-permissions"] : []) + libraries
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        process.environment = environment
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do {
            try process.run()
        } catch {
            return ([], "cannot start a probe process: \(error)")
        }
        let watchdog = DispatchWorkItem { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeLimit, execute: watchdog)
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        watchdog.cancel()
        let probed = Set(text.split(separator: "\n").compactMap { line in
            line.hasPrefix("probed\t") ? String(line.dropFirst("probed\t".count)) : nil
        })
        switch (process.terminationReason, process.terminationStatus) {
        case (.exit, 0):
            return (probed, nil)
        case (.uncaughtSignal, SIGKILL):
            return (probed, "it did not finish loading within \(Int(timeLimit)) s (killed)")
        case (.uncaughtSignal, let signal):
            return (probed, "\(signalName(signal)) while loading (relocations, constructors or the entry point)")
        case (.exit, let status):
            let detail = errorText.split(separator: "\n").last { !$0.hasPrefix("plughost: fatal signal") }.map { ": \($0)" } ?? ""
            // ld.so's "Inconsistency detected" exits 127; a sanitizer that catches the signal exits too.
            return (probed, "exited with status \(status) while loading\(detail)")
        @unknown default:
            return (probed, "the probe process ended unexpectedly")
        }
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
