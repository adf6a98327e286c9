import Foundation
import PluginRuntime
import PluginHTTPExtension

/// The body of `GET /_plughost/plugins`: the runtime's state, every alias with
/// its state, library, ABI, endpoints and wrappers, and the last reload.
struct AdminListing: Encodable {
    /// One served endpoint of a plugin.
    struct Endpoint: Encodable {
        var method: String
        var path: String
        var kind: String
        var wrappers: [String]
        var unavailable: String?
    }

    /// Where a plugin runs, as the runtime reports it (``IsolationStatus``).
    typealias Isolation = IsolationStatus

    /// One alias, or one file that yielded none.
    struct Plugin: Encodable {
        var alias: String?
        var namespace: String?
        var state: String
        var version: String?
        var library: String?
        var manifest: String
        var abi: String?
        var sha256: String?
        var endpoints: [Endpoint]
        var wrappers: [String]
        var warnings: [String]
        var lastError: String?
        /// Where it runs (`[isolation.ALIAS]`), and its plugin process in this worker when isolated;
        /// nil for a file that yielded no alias.
        var isolation: Isolation?
        /// With workers: this alias's state in each worker, by pid.
        var workerStates: [String: String]?
        /// With workers: where it runs in each worker that reported it, by worker pid (each worker
        /// has a plugin process of its own for an isolated plugin).
        var workerIsolation: [String: Isolation]?

        private enum CodingKeys: String, CodingKey {
            case alias, namespace, state, version, library, manifest, abi, sha256, endpoints, wrappers, warnings, isolation
            case lastError = "last_error", workerStates = "worker_states", workerIsolation = "worker_isolation"
        }

        // Absent optionals are written as null, so every key is always there.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(alias, forKey: .alias)
            try container.encode(namespace, forKey: .namespace)
            try container.encode(state, forKey: .state)
            try container.encode(version, forKey: .version)
            try container.encode(library, forKey: .library)
            try container.encode(manifest, forKey: .manifest)
            try container.encode(abi, forKey: .abi)
            try container.encode(sha256, forKey: .sha256)
            try container.encode(endpoints, forKey: .endpoints)
            try container.encode(wrappers, forKey: .wrappers)
            try container.encode(warnings, forKey: .warnings)
            try container.encode(lastError, forKey: .lastError)
            try container.encodeIfPresent(isolation, forKey: .isolation)
            try container.encodeIfPresent(workerStates, forKey: .workerStates)
            try container.encodeIfPresent(workerIsolation, forKey: .workerIsolation)
        }
    }

    /// One worker of the host, as its own listing says.
    struct Worker: Codable {
        /// One plugin's state in that worker.
        struct PluginState: Codable {
            var alias: String?
            var state: String
            var version: String?
            var sha256: String?
            /// Where it runs in that worker, and its plugin process there when isolated.
            var isolation: Isolation?
        }
        var pid: Int32?
        var generation: Int
        var reloads: Int
        var plugins: [PluginState]
    }

    var generation: Int
    var reloads: Int
    var lastReload: ReloadReport?
    /// The last reloads, oldest first.
    var recentReloads: [ReloadReport]
    var retainedSwiftImages: Int
    var drainingGenerations: Int
    var lingeringGenerations: Int
    var plugins: [Plugin]
    /// With workers: every worker's generation and plugin states; and those that did not answer.
    var workers: [Worker]?
    var missingWorkers: [Int32]?

    private enum CodingKeys: String, CodingKey {
        case generation, reloads, plugins, workers
        case missingWorkers = "missing_workers"
        case lastReload = "last_reload", recentReloads = "recent_reloads", retainedSwiftImages = "retained_swift_images"
        case drainingGenerations = "draining_generations", lingeringGenerations = "lingering_generations"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(generation, forKey: .generation)
        try container.encode(reloads, forKey: .reloads)
        try container.encode(lastReload, forKey: .lastReload)
        try container.encode(recentReloads, forKey: .recentReloads)
        try container.encode(drainingGenerations, forKey: .drainingGenerations)
        try container.encode(retainedSwiftImages, forKey: .retainedSwiftImages)
        try container.encode(lingeringGenerations, forKey: .lingeringGenerations)
        try container.encode(plugins, forKey: .plugins)
        try container.encodeIfPresent(workers, forKey: .workers)
        try container.encodeIfPresent(missingWorkers, forKey: .missingWorkers)
    }

    /// Adds every worker of `host`: their generations and plugin states, and per plugin its state in each.
    mutating func add(_ host: HostView) {
        let decoder = JSONDecoder()
        workers = host.workers.compactMap { worker in
            guard var decoded = try? decoder.decode(Worker.self, from: Data(worker.listing.utf8)) else { return nil }
            decoded.pid = worker.pid
            return decoded
        }.sorted { ($0.pid ?? 0) < ($1.pid ?? 0) }
        missingWorkers = host.missing
        for index in plugins.indices {
            guard let alias = plugins[index].alias else { continue }
            var states: [String: String] = [:]
            var isolation: [String: Isolation] = [:]
            for worker in workers ?? [] {
                let own = worker.plugins.first { $0.alias == alias }
                states[String(worker.pid ?? 0)] = own?.state ?? "absent"
                if let isolated = own?.isolation { isolation[String(worker.pid ?? 0)] = isolated }
            }
            plugins[index].workerStates = states
            if !isolation.isEmpty { plugins[index].workerIsolation = isolation }
        }
    }

    /// The listing of `runtime` now.
    init(_ runtime: PluginRuntime) {
        let generation = runtime.generation
        let listing = generation?.endpoints.listing ?? []
        let wrappers = generation?.endpoints.wrapperListing ?? [:]
        self.generation = generation?.number ?? 0
        reloads = runtime.reloadCount
        lastReload = runtime.lastReload
        recentReloads = runtime.recentReloads
        drainingGenerations = runtime.drainingGenerations
        retainedSwiftImages = runtime.retainedSwiftImages
        lingeringGenerations = runtime.lingeringGenerations
        let config = runtime.config
        plugins = runtime.statuses.map { status in
            Plugin(
                alias: status.alias, namespace: status.namespace, state: status.state.rawValue, version: status.version,
                library: status.library, manifest: status.file, abi: status.abi, sha256: status.sha256,
                endpoints: listing.filter { $0.alias == status.alias }.map {
                    Endpoint(method: $0.method, path: $0.path, kind: $0.kind, wrappers: $0.wrappers, unavailable: $0.unavailable)
                },
                wrappers: status.alias.flatMap { wrappers[$0] } ?? [],
                warnings: status.warnings.map(\.description),
                lastError: (status.error ?? status.warnings.last)?.description,
                isolation: IsolationStatus.listed(status, config: config))
        }
    }

    /// The listing as JSON text.
    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
