import ArgumentParser
import PluginRuntime

/// Options shared by the commands that read a plugins folder and a host config.
struct HostOptions: ParsableArguments {
    /// The plugins folder.
    @Option(name: .long, help: "The plugins folder.")
    var plugins: String = "plugins"

    /// The host config file; without one, every alias of the default namespace loads, in name order.
    @Option(name: .long, help: "The host config (TOML). Without it every alias of 'plughost.plugins' loads, in name order.")
    var config: String?

    /// Development only: skip the ownership and mode checks of the config and of plugin files.
    @Flag(name: .long, help: "Development only: read a host config and load plugin files that other users could have written (no ownership or mode checks).")
    var unsafePermissions = false

    /// Reads the host config, or the built-in default.
    func hostConfig() throws -> HostConfig {
        guard let config else {
            var defaults = HostConfig()
            defaults.strictPermissions = !unsafePermissions
            return defaults
        }
        guard FileSystem.exists(config) else { throw ValidationError("\(config): host config not found") }
        do {
            return try HostConfig.load(path: config, checkingPermissions: !unsafePermissions)
        } catch {
            throw ValidationError(error.description)
        }
    }
}
