#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import PluginRuntime

/// `plughost unquarantine ALIAS`: lift a plugin's quarantine by hand.
struct Unquarantine: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Lift the quarantine of a plugin that crashed too often, and reload the running host so it loads the plugin again.",
        discussion: "Appends a lift line to the crash journal (crashes before it no longer count), then, when the pid file names a running host, asks it to reload. A new build of the plugin (another SHA-256) and a reload lift a quarantine without this command.")

    @Argument(help: "The quarantined plugin's alias.")
    var alias: String

    @OptionGroup var options: HostOptions

    @Option(help: "The pid file of `plughost serve`: its crash journal is beside it (or in [host] state-dir).")
    var pidFile = "plughost.pid"

    @Flag(help: "Only lift the quarantine; do not reload the running host.")
    var noReload = false

    func run() throws {
        let config = try options.hostConfig()
        let files = HostFiles(pidFile: pidFile)
        let journal = ContainmentFiles(stateFolder: files.stateFolder(config)).journal
        guard let entry = QuarantineList.read(journal: journal, config: config).entries[alias] else {
            print("'\(alias)' is not quarantined (journal: \(journal))")
            throw ExitCode.failure
        }
        do {
            try CrashJournal.appendLift(alias: alias, path: journal)
        } catch {
            throw ValidationError(error.description)
        }
        print("lifted the quarantine of '\(alias)' (\(entry.crashes) crash(es), last: \(entry.lastCrash.signal) at \(entry.lastCrash.time))")
        guard !noReload, let pid = try? files.readPid(), kill(pid, 0) == 0 else { return }
        print("reloading the host (pid \(pid)):")
        try Reload.reload(files, timeout: 60)
    }
}
