import PluginRuntime
import ServiceLifecycle
import UnixSignals

/// Turns every SIGHUP into a reload request until graceful shutdown. Signals
/// that arrive back to back or during a reload coalesce in the ``ReloadScheduler``.
struct ReloadSignalService: Service {
    let reloader: ReloadScheduler

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            reloader.requestReload()
        }
    }
}
