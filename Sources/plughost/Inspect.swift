#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import PluginRuntime
import PluginSupervisor

/// `plughost inspect` (hidden): what `check` and `list` run in a child process,
/// so that they never load plugin code in their own (a corrupt library can pass
/// every check and still crash the process that maps it). It prints, one line
/// each, `loading PATH` before it opens a library, `status JSON` for every
/// status, and `done PATH` after each path it was given.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check or list plugins in this process, reporting progress line by line (run by check and list).",
        shouldDisplay: false)

    @Argument(help: "Libraries, manifests or folders (check), or the plugins folder (list).")
    var paths: [String]

    @Flag(help: "List the plugins folder (the first path) as `plughost list` does, instead of checking each path.")
    var list = false

    @Option(help: "The host config.")
    var config: String?

    @Flag(help: "No ownership or mode checks.")
    var unsafePermissions = false

    @Option(help: "The crash journal whose quarantines list shows.")
    var journal: String?

    @Option(help: "A library that crashed an earlier inspection, as PATH=REASON: refused with the reason instead of loaded.")
    var crashed: [String] = []

    func run() throws {
        var config = HostConfig()
        config.strictPermissions = !unsafePermissions
        if let path = self.config {
            config = try HostConfig.load(path: path, checkingPermissions: !unsafePermissions)
        }
        let refused = Dictionary(crashed.compactMap { item -> (String, String)? in
            guard let equals = item.firstIndex(of: "=") else { return nil }
            return (String(item[..<equals]), String(item[item.index(after: equals)...]))
        }, uniquingKeysWith: { first, _ in first })
        // Libraries that crashed an earlier child are refused with their reason, as a probe refuses them.
        LibraryProbe.install({ libraries in refused.filter { libraries.contains($0.key) } })
        LibraryProbe.observeOpens { path in Self.emit("loading", path) }
        if list {
            let quarantine = journal.map { QuarantineList.read(journal: $0, config: config) } ?? .none
            for status in PluginRuntime.inspect(pluginsDirectory: paths[0], config: config, quarantine: quarantine) {
                Self.emit(status)
            }
            Self.emit("done", paths[0])
        } else {
            for path in paths {
                for status in PluginChecker.check(path: path, config: config) { Self.emit(status) }
                Self.emit("done", path)
            }
        }
        // Out at once: plugin threads may still run, and their static destructors must not run under them.
        _exit(0)
    }

    private static func emit(_ kind: String, _ text: String) {
        print("\(kind)\t\(text)")
        fflush(nil)
    }

    private static func emit(_ status: PluginStatus) {
        guard let data = try? JSONEncoder().encode(status) else { return }
        emit("status", String(decoding: data, as: UTF8.self))
    }
}

/// Runs ``Inspect`` in child processes until every path is inspected: when a
/// child dies, the library it was loading is refused with the reason and the
/// paths it had not finished are inspected again in a new child.
enum InspectionChild {
    /// How long one child may take before it is killed as hung.
    static let timeLimit: Double = 60

    /// The statuses of `paths` (check) or of the folder `paths[0]` (list).
    static func statuses(_ paths: [String], list: Bool, config: String?, unsafePermissions: Bool, journal: String? = nil) -> [PluginStatus] {
        var remaining = paths
        var crashed: [String: String] = [:]
        var statuses: [PluginStatus] = []
        for _ in 0..<256 where !remaining.isEmpty {
            var arguments = ["inspect"] + (list ? ["--list"] : []) + (config.map { ["--config", $0] } ?? [])
                + (unsafePermissions ? ["--unsafe-permissions"] : []) + (journal.map { ["--journal", $0] } ?? [])
            arguments += crashed.sorted { $0.key < $1.key }.flatMap { ["--crashed", "\($0.key)=\($0.value)"] }
            arguments += ["--"] + remaining
            guard let outcome = ChildProcess.run(arguments, timeLimit: timeLimit) else {
                let reason = "cannot start a check process: \(String(cString: strerror(errno)))"
                return statuses + remaining.map { PluginStatus(problem: PluginError(.loadFailed, file: $0, reason: reason)) }
            }
            var done: [PluginStatus] = []
            var pending: [PluginStatus] = []
            var loading: String?
            var finished = Set<String>()
            for line in outcome.output.split(separator: "\n") {
                let parts = line.split(separator: "\t", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { continue }
                switch parts[0] {
                case "loading": loading = parts[1]
                case "status":
                    if let status = try? JSONDecoder().decode(PluginStatus.self, from: Data(parts[1].utf8)) { pending.append(status) }
                case "done":
                    finished.insert(parts[1])
                    done += pending
                    pending = []
                    loading = nil
                default: break
                }
            }
            statuses += done
            remaining.removeAll { finished.contains($0) }
            guard !remaining.isEmpty else { break }
            // The child died: the library it was opening is to blame (or, without one, the path it was on).
            let reason: String
            if outcome.timedOut {
                reason = "it did not finish loading within \(Int(timeLimit)) s (killed)"
            } else if let signal = outcome.signal {
                reason = "\(SignalNames.name(signal)) while loading (relocations, constructors or the entry point)"
            } else {
                reason = "exited with status \(outcome.exitCode ?? 0) while loading"
            }
            if let loading, crashed[loading] == nil {
                crashed[loading] = reason
            } else if let first = remaining.first {
                // Nothing to blame inside: the path itself fails.
                statuses.append(PluginStatus(problem: PluginError(.loadFailed, file: first, reason: "a check process died: \(reason)")))
                remaining.removeFirst()
            }
        }
        return statuses
    }
}
