import ArgumentParser
import PluginHTTPExtension

/// The `plughost` command: serve, list and check plugins.
@main
struct Plughost: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plughost",
        abstract: "A plugin host: loads .so plugins through a versioned C ABI, dispatches events to them and reloads them on SIGHUP.",
        subcommands: [Serve.self, Reload.self, Status.self, List.self, Check.self, Validate.self, New.self, Unquarantine.self, Pin.self, Keygen.self, Sign.self, Probe.self, Inspect.self],
        defaultSubcommand: Serve.self
    )

    /// Declares the HTTP server's `[host]` keys before any command loads a config, then runs the command.
    static func main() async {
        HTTPServerConfig.declare()
        await main(nil)
    }
}
