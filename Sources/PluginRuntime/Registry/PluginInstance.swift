import CPluginABI
import Logging
import Synchronization

/// One created plugin instance and its lifecycle, which the host drives
/// exactly once each and in order: create → start → stop → destroy.
///
/// All lifecycle calls come from the control thread.
final class PluginInstance: @unchecked Sendable {
    // @unchecked Sendable: `state` and `handle` change only on the control
    // thread (lifecycle calls); other threads read only immutable members.

    enum State { case created, started, startFailed, stopped, destroyed }

    let loaded: LoadedPlugin
    let context: PluginContext
    private(set) var state: State
    private var handle: UnsafeMutableRawPointer?

    var alias: String { context.alias }

    private init(loaded: LoadedPlugin, context: PluginContext, handle: UnsafeMutableRawPointer?) {
        self.loaded = loaded
        self.context = context
        self.handle = handle
        self.state = .created
    }

    /// Calls the plugin's `create` with `builder` open for registrations.
    static func create(
        _ prepared: PreparedPlugin, order: Int, builder: GenerationBuilder, cacheLimit: Int, logger: Logger
    ) throws(PluginError) -> PluginInstance {
        let loaded = prepared.loaded
        let context = PluginContext(
            alias: loaded.entry.alias, libraryPath: loaded.entry.libraryPath, order: order,
            configuration: prepared.configuration, threadSafe: loaded.isThreadSafe, servesHTTP: builder.servesHTTP,
            cacheLimit: cacheLimit, logger: logger)
        context.builder = builder
        context.creating.store(true, ordering: .releasing)
        defer {
            context.creating.store(false, ordering: .releasing)
            context.builder = nil
        }
        var handle: UnsafeMutableRawPointer?
        let (status, message) = context.lock.withLock {
            MessageBuffer.with { loaded.descriptor.pointee.create(loaded.descriptor, context.host, &handle, $0) }
        }
        guard status == PH_OK else {
            throw PluginError(.createFailed, file: loaded.entry.libraryPath, alias: loaded.entry.alias,
                              reason: message.isEmpty ? "create returned status \(status)" : message)
        }
        return PluginInstance(loaded: loaded, context: context, handle: handle)
    }

    /// Calls `start` (if the plugin has one).
    func start() throws(PluginError) {
        precondition(state == .created, "start called twice")
        guard let start = loaded.descriptor.pointee.start else {
            state = .started
            return
        }
        let handle = self.handle
        let (status, message) = context.lock.withLock { MessageBuffer.with { start(handle, $0) } }
        guard status == PH_OK else {
            state = .startFailed
            throw PluginError(.startFailed, file: loaded.entry.libraryPath, alias: alias,
                              reason: message.isEmpty ? "start returned status \(status)" : message)
        }
        state = .started
    }

    /// Calls `stop` once, only after a successful start; logs a failure.
    func stop() {
        guard state == .started else { return }
        state = .stopped
        guard let stop = loaded.descriptor.pointee.stop else { return }
        let handle = self.handle
        let (status, message) = context.lock.withLock { MessageBuffer.with { stop(handle, $0) } }
        if status != PH_OK {
            context.logger.error("stop failed: \(message.isEmpty ? "status \(status)" : message)")
        }
    }

    /// Calls `destroy` once and clears the plugin's cache.
    func destroy() {
        guard state != .destroyed else { return }
        if state == .started { stop() }
        state = .destroyed
        let handle = self.handle
        self.handle = nil
        context.lock.withLock { loaded.descriptor.pointee.destroy(handle) }
        context.cache.invalidate(prefix: [])
    }
}
