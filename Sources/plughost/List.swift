#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import PluginRuntime

/// `plughost list`: every alias found, with its state.
struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List every plugin alias found, with namespace, library, version, ABI, state (loaded, failed, disabled) and mode (in-process, process).")

    @OptionGroup var options: HostOptions

    @Option(help: "The pid file of `plughost serve`: the crash journal beside it (or in [host] state-dir) decides which plugins are quarantined.")
    var pidFile = "plughost.pid"

    func run() throws {
        let config = try options.hostConfig()
        let journal = ContainmentFiles(stateFolder: HostFiles(pidFile: pidFile).stateFolder(config)).journal
        // Libraries are loaded in a child process, never in this one: one that crashes it is
        // listed as failed, not the end of list.
        let statuses = InspectionChild.statuses([options.plugins], list: true, config: options.config,
                                                unsafePermissions: options.unsafePermissions, journal: journal)
        print(StatusTable.render(statuses, config: config))
        fflush(nil)  // see Check.run
    }
}
