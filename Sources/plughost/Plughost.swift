import ArgumentParser

/// The `plughost` command: serve, list and check plugins.
@main
struct Plughost: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plughost",
        abstract: "A plugin host: loads .so plugins through a versioned C ABI and dispatches events to them.",
        subcommands: [Serve.self, List.self, Check.self],
        defaultSubcommand: Serve.self
    )
}
