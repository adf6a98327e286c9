import PluginRuntime
import ServiceLifecycle
import UnixSignals

/// Turns every SIGHUP into a reload request until graceful shutdown. Signals
/// that arrive back to back or during a reload coalesce (in the ``ReloadScheduler``,
/// or in the supervisor's rounds for a worker).
struct ReloadSignalService: Service {
    /// Asks for a reload and returns at once.
    let requestReload: @Sendable () -> Void

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            requestReload()
        }
    }
}
