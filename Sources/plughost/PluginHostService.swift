import PluginRuntime
import ServiceLifecycle

/// Runs a ``PluginRuntime`` as a service: starts it, waits for graceful
/// shutdown, then shuts it down (firing the shutdown events).
struct PluginHostService: Service {
    let runtime: PluginRuntime
    let strict: Bool

    func run() async throws {
        try runtime.start(strict: strict)
        try? await gracefulShutdown()
        runtime.shutdown()
    }
}
