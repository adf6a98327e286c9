#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import PluginRuntime

/// `plughost list`: every alias found, with its state.
struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List every plugin alias found, with namespace, library, version, ABI and state (loaded, failed, disabled).")

    @OptionGroup var options: HostOptions

    func run() throws {
        // A library that crashes while loading is listed as failed, not the end of list.
        ProcessProbe.install(config: options.config, unsafePermissions: options.unsafePermissions)
        let statuses = PluginRuntime.inspect(pluginsDirectory: options.plugins, config: try options.hostConfig())
        print(StatusTable.render(statuses))
        fflush(nil)  // see Check.run
    }
}
