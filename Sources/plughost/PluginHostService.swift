import PluginRuntime
import ServiceLifecycle

/// Keeps a started ``PluginRuntime`` until graceful shutdown, then shuts it
/// down (firing the shutdown events) and removes the pid file. Listed before the HTTP server in the
/// service group, so it stops after the server has drained.
struct PluginHostService: Service {
    let runtime: PluginRuntime
    let files: HostFiles

    func run() async throws {
        try? await gracefulShutdown()
        files.removePid()
        runtime.shutdown()
    }
}
