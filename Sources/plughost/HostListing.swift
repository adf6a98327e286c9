import Foundation

/// The part of `GET /_plughost/plugins` that `plughost status` shows.
struct HostListing: Decodable {
    struct Endpoint: Decodable {
        var method: String
        var path: String
        var unavailable: String?
    }

    /// Where a plugin runs, and its plugin process when isolated (`isolation` in the listing).
    struct Isolation: Decodable {
        var mode: String
        var pid: Int32?
        var residentBytes: Int?
        var restarts: Int?

        private enum CodingKeys: String, CodingKey { case mode, pid, residentBytes = "resident_bytes", restarts }
    }

    struct Plugin: Decodable {
        var alias: String?
        var state: String
        var version: String?
        var abi: String?
        var sha256: String?
        var manifest: String
        var endpoints: [Endpoint]
        var lastError: String?
        /// Absent from a host older than isolated plugins.
        var isolation: Isolation?
        /// With workers: each worker's, by worker pid.
        var workerIsolation: [String: Isolation]?

        private enum CodingKeys: String, CodingKey {
            case alias, state, version, abi, sha256, manifest, endpoints, isolation
            case lastError = "last_error", workerIsolation = "worker_isolation"
        }

        /// The MODE, PID, MEMORY and RESTARTS cells: with workers, every worker's plugin process
        /// (pids in worker order, memory and restarts summed); `-` where nothing applies.
        var isolationCells: [String] {
            let each = workerIsolation.map { byWorker in
                byWorker.sorted { (Int32($0.key) ?? 0) < (Int32($1.key) ?? 0) }.map(\.value)
            } ?? isolation.map { [$0] } ?? []
            guard let mode = (each.first { $0.mode == "process" } ?? each.first)?.mode else { return ["-", "-", "-", "-"] }
            let processes = each.filter { $0.mode == "process" }
            guard !processes.isEmpty else { return [mode, "-", "-", "-"] }
            let pids = processes.map { $0.pid.map(String.init) ?? "none" }.joined(separator: ",")
            let bytes = processes.compactMap(\.residentBytes)
            let memory = bytes.isEmpty ? "-" : Self.mebibytes(bytes.reduce(0, +))
            return [mode, pids, memory, String(processes.reduce(0) { $0 + ($1.restarts ?? 0) })]
        }

        /// `bytes` in MiB with one decimal.
        static func mebibytes(_ bytes: Int) -> String {
            let tenths = (bytes * 10 + (1 << 19)) >> 20
            return "\(tenths / 10).\(tenths % 10) MiB"
        }
    }

    struct Reload: Decodable {
        var succeeded: Bool
        var summary: String
    }

    struct Supervisor: Decodable {
        struct Worker: Decodable {
            var pid: Int32
            var serving: Bool
            var restarts: Int
        }
        struct Quarantined: Decodable {
            var alias: String
            var crashes: Int
        }
        var pid: Int32
        var workers: [Worker]
        var quarantined: [Quarantined]
    }

    var generation: Int
    var reloads: Int
    var lastReload: Reload?
    var drainingGenerations: Int?
    var lingeringGenerations: Int
    var retainedSwiftImages: Int
    var plugins: [Plugin]
    var supervisor: Supervisor?
    /// With workers: each worker's generation and plugin states.
    var workers: [Worker]?

    struct Worker: Decodable {
        struct PluginState: Decodable {
            var alias: String?
            var state: String
        }
        var pid: Int32?
        var generation: Int
        var plugins: [PluginState]
    }

    private enum CodingKeys: String, CodingKey {
        case generation, reloads, plugins, supervisor, workers
        case lastReload = "last_reload", drainingGenerations = "draining_generations"
        case lingeringGenerations = "lingering_generations", retainedSwiftImages = "retained_swift_images"
    }

    /// The listing as `plughost status` prints it: a few summary lines, then a table of plugins.
    struct Rendering {
        let listing: HostListing
        let pid: Int32
        let address: String
        let ready: Bool

        var text: String {
            var lines = ["\(ready ? "●" : "○") plughost (pid \(pid)) serving http://\(address) — \(ready ? "ready" : "not ready")"]
            lines.append("  generation \(listing.generation); \(listing.reloads) reload(s); draining \(listing.drainingGenerations ?? 0), lingering \(listing.lingeringGenerations); retained Swift images \(listing.retainedSwiftImages)")
            if let last = listing.lastReload { lines.append("  last reload: \(last.summary)") }
            if let supervisor = listing.supervisor {
                let serving = supervisor.workers.filter(\.serving).count
                let restarts = supervisor.workers.reduce(0) { $0 + $1.restarts }
                lines.append("  supervisor \(supervisor.pid): \(serving) of \(supervisor.workers.count) worker(s) serving (pids \(supervisor.workers.map { String($0.pid) }.joined(separator: ", "))), \(restarts) restart(s)")
                if !supervisor.quarantined.isEmpty {
                    lines.append("  quarantined: " + supervisor.quarantined.map { "\($0.alias) (\($0.crashes) crashes)" }.joined(separator: ", "))
                }
            }
            // Each worker's generation and its plugins not running (a plugin that failed in one worker shows here).
            for worker in listing.workers ?? [] {
                let notRunning = worker.plugins.filter { $0.alias != nil && $0.state != "running" && $0.state != "disabled" }
                let states = notRunning.isEmpty ? "all plugins running" : notRunning.map { "\($0.alias ?? "?") \($0.state)" }.joined(separator: ", ")
                lines.append("  worker \(worker.pid.map(String.init) ?? "?"): generation \(worker.generation); \(states)")
            }
            lines.append("")
            let header = ["ALIAS", "STATE", "VERSION", "ABI", "SHA256", "ENDPOINTS", "MODE", "PID", "MEMORY", "RESTARTS", "LAST ERROR"]
            let rows = listing.plugins.map { plugin in
                [plugin.alias ?? plugin.manifest, plugin.state, plugin.version ?? "-", plugin.abi ?? "-",
                 plugin.sha256.map { String($0.prefix(12)) } ?? "-", String(plugin.endpoints.count)]
                    + plugin.isolationCells + [plugin.lastError ?? ""]
            }
            let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
            for row in [header] + rows {
                var line = ""
                for (column, cell) in row.enumerated() {
                    line += column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count + 2)
                }
                while line.last == " " { line.removeLast() }
                lines.append(line)
            }
            return lines.joined(separator: "\n")
        }
    }
}
