#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PluginRuntime

/// The files through which `plughost reload` finds and hears from a running
/// `plughost serve`: the pid file, and next to it `<pid file>.reload`, the JSON
/// report of the last reload, replaced atomically after each one.
struct HostFiles: Sendable {
    /// The pid file.
    let pidFile: String

    /// The reload report file.
    var reloadFile: String { pidFile + ".reload" }

    /// The host's state folder (crash journal, guard book, probe record):
    /// `[host] state-dir`, else the pid file's folder.
    func stateFolder(_ config: HostConfig) -> String {
        let parent = pidFile.contains("/") ? String(pidFile[..<pidFile.lastIndex(of: "/")!]) : "."
        return config.stateDirectory ?? (parent.isEmpty ? "/" : parent)
    }

    /// Writes this process's pid.
    func writePid() throws {
        try replace(pidFile, with: "\(getpid())\n")
    }

    /// Removes the pid file (and the address beside it) if it still names this process.
    func removePid() {
        if (try? readPid()) == getpid() {
            unlink(pidFile)
            unlink(addressFile)
        }
    }

    /// Where the host says which address it serves (for `plughost status`).
    var addressFile: String { pidFile + ".address" }

    /// Records the address the host serves on, as `host:port`.
    func writeAddress(host: String, port: Int) throws {
        try replace(addressFile, with: "\(host):\(port)\n")
    }

    /// The host and port the running host serves on.
    func readAddress() throws -> (host: String, port: Int) {
        guard let text = try? String(contentsOfFile: addressFile, encoding: .utf8),
              let colon = text.lastIndex(of: ":"),
              let port = Int(text[text.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw HostFileError("\(addressFile): no address (written by `plughost serve` once it listens)")
        }
        return (String(text[..<colon]), port)
    }

    /// The pid the pid file names.
    func readPid() throws -> pid_t {
        let text: String
        do {
            text = try String(contentsOfFile: pidFile, encoding: .utf8)
        } catch {
            throw HostFileError("\(pidFile): no pid file (is `plughost serve --pid-file \(pidFile)` running?)")
        }
        guard let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0 else {
            throw HostFileError("\(pidFile): does not hold a process id")
        }
        return pid
    }

    /// Records `report` for `plughost reload`.
    func writeReload(_ report: ReloadReport) throws {
        try writeReload(json: report.json)
    }

    /// Records a reload report given as JSON (the supervisor's combined one).
    func writeReload(json: String) throws {
        try replace(reloadFile, with: json + "\n")
    }

    /// The last reload report, if the file holds one.
    func readReload() -> ReloadReport.Outcome? {
        guard let data = FileManager.default.contents(atPath: reloadFile) else { return nil }
        return try? JSONDecoder().decode(ReloadReport.Outcome.self, from: data)
    }

    /// Writes `text` to a temporary file and renames it over `path`, so readers never see half of it.
    private func replace(_ path: String, with text: String) throws {
        let temporary = path + ".tmp.\(getpid())"
        try text.write(toFile: temporary, atomically: false, encoding: .utf8)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw HostFileError("\(path): cannot write: \(reason)")
        }
    }
}

/// A problem with a pid or reload file, as one line.
struct HostFileError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
