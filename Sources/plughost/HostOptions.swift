import ArgumentParser
import PluginRuntime

/// Options shared by the commands that read a plugins folder and a host config.
struct HostOptions: ParsableArguments {
    /// The plugins folder.
    @Option(name: .long, help: "The plugins folder.")
    var plugins: String = "plugins"

    /// The host config file; `plughost.toml` is used when present.
    @Option(name: .long, help: "The host config (TOML). Default: plughost.toml if it exists.")
    var config: String?

    /// Reads the host config, or the default one.
    func hostConfig() throws -> HostConfig {
        if let config {
            guard FileSystem.exists(config) else { throw ValidationError("\(config): host config not found") }
            return try loadConfig(config)
        }
        return FileSystem.exists("plughost.toml") ? try loadConfig("plughost.toml") : HostConfig()
    }

    private func loadConfig(_ path: String) throws -> HostConfig {
        do {
            return try HostConfig.load(path: path)
        } catch {
            throw ValidationError(error.description)
        }
    }
}
