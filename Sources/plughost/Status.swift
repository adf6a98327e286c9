#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation

/// `plughost status`: the running host's state as a table, like `systemctl status`:
/// found through the pid file, read from `GET /_plughost/plugins`.
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a running `plughost serve`: its process, generation, reloads, workers and every plugin with its state.",
        discussion: "Finds the host through its pid file (and the address written beside it), and asks its admin endpoint, which answers loopback clients by default. Exits 1 when no host runs or it does not answer.")

    @Option(help: "The pid file `plughost serve` wrote.")
    var pidFile = "plughost.pid"

    @Option(help: "The bearer token, for a host with [host] admin = \"token\" (default: $PLUGHOST_ADMIN_TOKEN).")
    var token: String?

    @Flag(help: "Print the admin endpoint's JSON instead of the table.")
    var json = false

    func run() throws {
        let files = HostFiles(pidFile: pidFile)
        let pid = try files.readPid()
        guard kill(pid, 0) == 0 || errno == EPERM else {
            throw HostFileError("\(pidFile): no process \(pid) is running (stale pid file?)")
        }
        let (host, port) = try files.readAddress()
        let client = AdminClient(host: host, port: port, token: token ?? ProcessInfo.processInfo.environment["PLUGHOST_ADMIN_TOKEN"])
        let (status, body) = try client.get("/_plughost/plugins")
        guard status == 200 else {
            throw HostFileError("http://\(host):\(port)/_plughost/plugins answered \(status): \(String(decoding: body, as: UTF8.self))")
        }
        if json {
            print(String(decoding: body, as: UTF8.self))
            return
        }
        let listing = try JSONDecoder().decode(HostListing.self, from: Data(body))
        let ready = (try? client.get("/_plughost/ready")).map { $0.status == 200 } ?? false
        print(HostListing.Rendering(listing: listing, pid: pid, address: "\(host):\(port)", ready: ready).text)
    }
}
