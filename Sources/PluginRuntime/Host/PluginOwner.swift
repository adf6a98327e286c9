public import CPluginABI
public import Logging
import Metrics

/// Who registered something: the alias, its library, its logger and the lock
/// that serialises calls into it. Registrations carry this plain record, not
/// the plugin's whole context.
///
/// It is also the one way into a plugin's code: every lifecycle call
/// (`create`, `start`, `stop`, `destroy`, `save_state`, `restore_state`) goes
/// through ``call(_:)`` and its checked variants, so the lock, the message
/// buffer and the wording of a failure are written once.
public final class PluginOwner: Sendable {
    /// How the reason of a failed call reads; the wordings are the ones users and tests know.
    package enum Wording: Sendable {
        /// The plugin's message, or "`function` returned status N" when it wrote none.
        case returned(String)
        /// "`prefix`: " followed by the plugin's message, or by "status N" when it wrote none.
        case prefixed(String)

        /// The reason for a call that answered `status` and wrote `message`.
        package func reason(status: ph_status_t, message: String) -> String {
            switch self {
            case .returned(let function):
                message.isEmpty ? "\(function) returned status \(status) (\(status.macroName)) without a message (write one into `error`, e.g. with ph_message_printf)" : message
            case .prefixed(let prefix):
                "\(prefix): " + (message.isEmpty ? "status \(status) (\(status.macroName)), no message" : message)
            }
        }
    }

    /// The alias, e.g. `auth`.
    public let alias: String
    /// The plugin's library, for messages.
    public let libraryPath: String
    /// Log lines carry `plugin=<alias>`.
    public let logger: Logger
    /// Serialises calls into a plugin that is not thread-safe; nil for a thread-safe one.
    package let lock: PluginLock?
    /// Which build of the plugin this is.
    public let build: Build
    /// Errors the plugin reported (``MetricNames/pluginErrors``).
    private let reportedErrors: Counter

    /// A plugin build: what a hang is charged to, and whether its calls may run inline.
    public struct Build: Sendable {
        /// The plugin's version.
        public let version: String
        /// Its library's SHA-256 (hex).
        public let sha256: String
        /// It set `PH_PLUGIN_NEVER_BLOCKS`.
        public let neverBlocks: Bool
        /// Its index in the in-flight record of calls (see ``CallRecord``; 0: unrecorded).
        package let record: UInt32

        /// Creates a build record.
        public init(version: String, sha256: String, neverBlocks: Bool) {
            self.init(version: version, sha256: sha256, neverBlocks: neverBlocks, record: 0)
        }

        package init(version: String, sha256: String, neverBlocks: Bool, record: UInt32) {
            self.version = version
            self.sha256 = sha256
            self.neverBlocks = neverBlocks
            self.record = record
        }

        /// A build nothing is known of (tests, fuzzing): it may block.
        public static let unknown = Build(version: "-", sha256: "-", neverBlocks: false)
    }

    package init(alias: String, libraryPath: String, logger: Logger, lock: PluginLock?, build: Build = .unknown) {
        self.alias = alias
        self.libraryPath = libraryPath
        self.logger = logger
        self.lock = lock
        self.build = build
        self.reportedErrors = Counter(label: MetricNames.pluginErrors, dimensions: [("alias", alias)])
    }

    /// Counts one error the plugin reported: a log line at error level, or a failure
    /// status it returned from a request step (answered 500).
    public func countError() {
        reportedErrors.increment()
    }

    /// The one way into the plugin for a call that returns a status: under its
    /// lock when it is not thread-safe, with a fresh message buffer.
    /// - Returns: The status and the message the plugin wrote (empty when none).
    /// A lifecycle call is also recorded as in flight, under its deadline (see ``CallRecord``).
    @inline(__always)
    package func call(_ kind: CallRecord.Kind, _ body: (UnsafeMutablePointer<ph_message_t>) -> ph_status_t)
        -> (status: ph_status_t, message: String) {
        CallRecord.timed(kind, build.record, logger: logger) { lock.withLock { MessageBuffer.with(body) } }
    }

    /// Like ``call(_:_:)``, with a failure turned into a ``PluginError`` of `code`
    /// naming the library and the alias, its reason worded by `wording`.
    package func callChecked(_ kind: CallRecord.Kind, _ code: PluginError.Code, _ wording: Wording,
                             _ body: (UnsafeMutablePointer<ph_message_t>) -> ph_status_t) throws(PluginError) {
        try check(call(kind, body), code, wording)
    }

    /// Throws the ``PluginError`` of `code` for `result` unless it is `PH_OK`
    /// (for a caller that first looks at the status itself, such as `save_state`'s "nothing to hand over").
    package func check(_ result: (status: ph_status_t, message: String), _ code: PluginError.Code,
                      _ wording: Wording) throws(PluginError) {
        try Self.check(result, code, wording, file: libraryPath, alias: alias)
    }

    /// Like ``call(_:)`` for a call whose failure the host only reports (`stop`):
    /// logs it on the plugin's logger, worded by `wording`.
    package func callLogged(_ kind: CallRecord.Kind, _ wording: Wording, _ body: (UnsafeMutablePointer<ph_message_t>) -> ph_status_t) {
        let (status, message) = call(kind, body)
        if status != PH_OK { logger.error("\(wording.reason(status: status, message: message))") }
    }

    /// Calls a plugin that has no owner yet (its `parse_config` runs before `create`,
    /// so before it has a lock) with a fresh message buffer; a failure becomes a
    /// ``PluginError`` of `code` about `file` and `alias`, worded by `wording`.
    package static func callUnowned(_ code: PluginError.Code, _ wording: Wording, file: String, alias: String, record: UInt32,
                                    _ body: (UnsafeMutablePointer<ph_message_t>) -> ph_status_t) throws(PluginError) {
        try check(CallRecord.timed(.parseConfig, record, logger: nil) { MessageBuffer.with(body) }, code, wording, file: file, alias: alias)
    }

    /// The check every checked call shares: `PH_OK` passes, anything else throws.
    private static func check(_ result: (status: ph_status_t, message: String), _ code: PluginError.Code,
                              _ wording: Wording, file: String, alias: String) throws(PluginError) {
        guard result.status != PH_OK else { return }
        throw PluginError(code, file: file, alias: alias, reason: wording.reason(status: result.status, message: result.message))
    }

    /// Runs a call into the plugin that has no status (destroy, accepts, release) under its lock.
    @inline(__always)
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        try lock.withLock(body)
    }

    /// Runs a timed call of `kind` that has no status (destroy, accepts, release)
    /// under the plugin's lock, recorded as in flight (see ``CallRecord``).
    package func withLock<T>(_ kind: CallRecord.Kind, _ body: () -> T) -> T {
        CallRecord.timed(kind, build.record, logger: logger) { lock.withLock(body) }
    }

    /// The plugin whose `ph_host_t` is `host`, with its store for `hostExtension`,
    /// while that plugin's `create` runs; nil otherwise (registration then
    /// answers `PH_ERR_STATE`) or when the runtime does not offer `hostExtension`.
    public static func registering(_ host: UnsafePointer<ph_host_t>?, for hostExtension: any HostExtension)
        -> (owner: PluginOwner, registrations: any ExtensionRegistrations)? {
        // Registrations are open only while create runs, when the instance is alive for sure.
        PluginContext.with(host, retired: nil) { context in
            guard let registrations = context.openRegistrations,
                  let index = registrations.extensionSet.index(of: hostExtension) else { return nil }
            return (context.owner, registrations.extensions[index])
        }
    }
}
