#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CProcessControl
import Logging
import PluginRuntime
import PluginSupervisor

extension Serve {
    /// Runs the supervisor: binds the sockets, starts the workers, never loads a plugin.
    func supervise() throws {
        try bootstrapLogging()
        let logger = Logger(label: "plughost.supervisor")
        let config = try options.hostConfig()
        // One SO_REUSEPORT socket per worker, all held here for the life of the host (see Supervisor).
        var sockets: [Int32] = []
        var boundPort = Int32(port)
        for _ in 0..<workers {
            var bound: Int32 = 0
            let socket = ph_listen_tcp(host, boundPort, 1024, 1, &bound)
            guard socket >= 0 else { throw ValidationError("cannot listen on \(host):\(boundPort): \(String(cString: strerror(errno)))") }
            sockets.append(socket)
            boundPort = bound
        }
        logger.info("listening on \(host):\(boundPort)")
        let files = HostFiles(pidFile: pidFile)
        do {
            try files.writeAddress(host: host, port: Int(boundPort))
        } catch {
            logger.warning("\(error)")
        }
        // One host cache for every worker: made here, before they start, and inherited by each.
        let cache = SharedCacheStore.make(bytes: config.cacheBytes, shareable: true)
        if cache == nil { logger.error("cannot make the shared host cache (\(String(cString: strerror(errno)))): each worker keeps its own") }
        let supervisor = Supervisor(
            configuration: SupervisorStateMachine.Configuration(workers: workers, supervisorPID: getpid(), config: config),
            sockets: sockets, cache: cache,
            environment: Supervisor.Environment(
                executable: ChildEnvironment.executablePath, arguments: Self.workerArguments(), journal: journalPath(config),
                writePid: { try files.writePid() }, removePid: { files.removePid() },
                writeRoundReport: { try files.writeReload(json: $0.json) }),
            logger: logger)
        Glibc.exit(supervisor.run())
    }

    /// This command's arguments for a worker: the same, with `--worker-socket` instead of `--workers`.
    static func workerArguments() -> [String] {
        var arguments: [String] = []
        var skipNext = false
        for argument in CommandLine.arguments.dropFirst() {
            if skipNext { skipNext = false; continue }
            if argument == "--workers" { skipNext = true; continue }
            if argument.hasPrefix("--workers=") { continue }
            arguments.append(argument)
        }
        return arguments + ["--worker-socket", String(WorkerDescriptors.socket)]
    }
}
