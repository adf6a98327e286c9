import ArgumentParser
import Dispatch
import PluginHTTP
import PluginRuntime
import ServiceLifecycle

/// Starts the plugins (`start`, which loads and starts them and marks the host
/// ready), keeps the runtime until graceful shutdown, then shuts it down (firing
/// the shutdown events) and removes the pid file. Listed first in the service
/// group, so it stops after the server has drained.
struct PluginHostService: Service {
    let runtime: PluginRuntime
    let files: HostFiles
    let start: @Sendable () throws -> Void
    /// Runs once graceful shutdown begins, before the runtime shuts down (a worker undoes a prepared reload).
    var beforeShutdown: @Sendable () -> Void = {}

    func run() async throws {
        // Plugin code (parse_config, create, start) may block: off Swift's cooperative
        // threads, which keep answering probes meanwhile.
        let start = self.start
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            DispatchQueue.global().async { continuation.resume(with: Result { try start() }) }
        }
        try? await gracefulShutdown()
        files.removePid()
        let beforeShutdown = self.beforeShutdown
        // Off the cooperative threads too: undoing a build and stopping plugins run plugin code.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                beforeShutdown()
                runtime.shutdown()
                continuation.resume()
            }
        }
    }
}

/// Listed last in the service group, so graceful shutdown reaches it first:
/// `/_plughost/ready` answers 503 from the moment SIGTERM arrives, while the
/// server still finishes its requests.
struct ReadinessService: Service {
    let readiness: HostReadiness

    func run() async throws {
        try? await gracefulShutdown()
        readiness.markStopping()
    }
}

/// `--log-format`.
enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case human
    case json
}
