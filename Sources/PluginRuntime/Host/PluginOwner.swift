public import CPluginABI
public import Logging

/// Who registered something: the alias, its library, its logger and the lock
/// that serialises calls into it. Registrations carry this plain record, not
/// the plugin's whole context.
public final class PluginOwner: Sendable {
    /// The alias, e.g. `auth`.
    public let alias: String
    /// The plugin's library, for messages.
    public let libraryPath: String
    /// Log lines carry `plugin=<alias>`.
    public let logger: Logger
    /// Serialises calls into a plugin that is not thread-safe; nil for a thread-safe one.
    package let lock: PluginLock?

    package init(alias: String, libraryPath: String, logger: Logger, lock: PluginLock?) {
        self.alias = alias
        self.libraryPath = libraryPath
        self.logger = logger
        self.lock = lock
    }

    /// The one way into the plugin for a call that returns a status: under its
    /// lock when it is not thread-safe, with a fresh message buffer.
    /// - Returns: The status and the message the plugin wrote (empty when none).
    @inline(__always)
    public func call(_ body: (UnsafeMutablePointer<ph_message_t>) -> ph_status_t) -> (status: ph_status_t, message: String) {
        lock.withLock { MessageBuffer.with(body) }
    }

    /// Like ``call(_:)``, with a failure turned into a ``PluginError`` of `code`
    /// naming the library, the alias and `what` failed.
    public func callChecked(_ code: PluginError.Code, _ what: String,
                            _ body: (UnsafeMutablePointer<ph_message_t>) -> ph_status_t) throws(PluginError) {
        let (status, message) = call(body)
        guard status == PH_OK else {
            throw PluginError(code, file: libraryPath, alias: alias,
                              reason: "\(what) failed: " + (message.isEmpty ? "status \(status)" : message))
        }
    }

    /// Runs a call into the plugin that has no status (destroy, accepts, release) under its lock.
    @inline(__always)
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        try lock.withLock(body)
    }

    /// The plugin whose `ph_host_t` is `host`, with its store for `hostExtension`,
    /// while that plugin's `create` runs; nil otherwise (registration then
    /// answers `PH_ERR_STATE`) or when the runtime does not offer `hostExtension`.
    public static func registering(_ host: UnsafePointer<ph_host_t>?, for hostExtension: any HostExtension)
        -> (owner: PluginOwner, registrations: any ExtensionRegistrations)? {
        guard let host else { return nil }
        let context = PluginContext.from(host)
        guard let registrations = context.openRegistrations,
              let index = registrations.extensionSet.index(of: hostExtension) else { return nil }
        return (context.owner, registrations.extensions[index])
    }
}
