#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import PluginRuntime

/// `plughost reload`: signal a running host to reload and print the outcome.
struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask a running `plughost serve` to reload its plugins (SIGHUP through its pid file) and print the outcome.",
        discussion: "Exits 0 when the new plugins serve, 1 when the reload failed (the old ones keep serving) or no answer came.")

    @Option(help: "The pid file `plughost serve` wrote.")
    var pidFile = "plughost.pid"

    @Option(help: "Seconds to wait for the reload to finish.")
    var timeout = 60.0

    func run() throws {
        try Self.reload(HostFiles(pidFile: pidFile), timeout: timeout)
    }

    /// Signals the host of `files` to reload, waits up to `timeout` seconds and prints the outcome;
    /// throws when it failed or no answer came.
    static func reload(_ files: HostFiles, timeout: Double) throws {
        let pidFile = files.pidFile
        let pid = try files.readPid()
        if kill(pid, 0) != 0 {
            if errno == EPERM { throw HostFileError("process \(pid) from \(pidFile) belongs to another user: cannot signal it") }
            throw HostFileError("\(pidFile): no process \(pid) is running (stale pid file?)")
        }
        let asked = WallClock.nanoseconds()
        guard kill(pid, SIGHUP) == 0 else {
            throw HostFileError("cannot signal process \(pid): \(String(cString: strerror(errno)))")
        }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let report = files.readReload(), report.startedAt >= asked {
                print(report.summary)
                if report.succeeded { return }
                throw ExitCode.failure
            }
            guard kill(pid, 0) == 0 else { throw HostFileError("process \(pid) exited before reporting the reload") }
            usleep(20_000)
        }
        throw HostFileError("no reload report from process \(pid) in \(files.reloadFile) after \(timeout) s")
    }
}
