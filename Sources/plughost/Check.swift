#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import PluginRuntime

/// `plughost check PATH…`: validate without serving.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate plugins (a .so, a manifest or a folder) without serving.",
        discussion: "Exits 0 when everything is valid, 1 otherwise, with one line per problem naming file, alias and reason.")

    @Argument(help: "Libraries (.so), manifests (.toml) or plugin folders.")
    var paths: [String]

    @Option(name: .long, help: "A host config whose [plugin.ALIAS] tables are validated too.")
    var config: String?

    @Flag(name: .long, help: "Development only: no ownership or mode checks of the config and plugin files.")
    var unsafePermissions = false

    func validate() throws {
        if paths.isEmpty { throw ValidationError("name at least one .so, manifest or folder") }
    }

    func run() throws {
        var config = HostConfig()
        config.strictPermissions = !unsafePermissions
        if let path = self.config {
            do {
                config = try HostConfig.load(path: path, checkingPermissions: !unsafePermissions)
            } catch {
                throw ValidationError(error.description)
            }
        }
        // Libraries are loaded in a probe process first: one that crashes it is a failure, not the end of check.
        ProcessProbe.install(config: self.config, unsafePermissions: unsafePermissions)
        var failed = 0
        for path in paths {
            for status in PluginChecker.check(path: path, config: config) {
                if let error = status.error {
                    failed += 1
                    print("FAIL \(error)")
                } else if status.state == .loaded {
                    print("ok   \(status.library ?? status.file): alias '\(status.alias ?? "-")' \(status.version ?? "") (ABI \(status.abi ?? "?"))")
                }
            }
        }
        if failed > 0 { print("\(failed) problem(s)") }
        // The report is out before anything at exit runs (a sanitizer's leak check
        // ends the process without flushing a piped stdout).
        fflush(nil)
        if failed > 0 { throw ExitCode(1) }
    }
}
