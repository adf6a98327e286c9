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
        // The config is refused here with its reason (the child would only exit).
        if let path = self.config {
            do {
                _ = try HostConfig.load(path: path, checkingPermissions: !unsafePermissions)
            } catch {
                throw ValidationError(error.description)
            }
        }
        // Every library is loaded in a child process, never in this one: one that crashes it
        // is a failure of that library, not the end of check.
        var failed = 0
        for status in InspectionChild.statuses(paths, list: false, config: self.config, unsafePermissions: unsafePermissions) {
            if let error = status.error {
                failed += 1
                print("FAIL \(error)")
            } else if status.state == .loaded {
                print("ok   \(status.library ?? status.file): alias '\(status.alias ?? "-")' \(status.version ?? "") (ABI \(status.abi ?? "?"))")
            }
        }
        if failed > 0 { print("\(failed) problem(s)") }
        // The report is out before anything at exit runs (a sanitizer's leak check
        // ends the process without flushing a piped stdout).
        fflush(nil)
        if failed > 0 { throw ExitCode(1) }
    }
}
