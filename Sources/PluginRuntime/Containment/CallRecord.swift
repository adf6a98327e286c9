#if canImport(Glibc)
import Glibc
#endif
package import CCallRecord
import CCrashJournal
package import Logging

/// The in-flight record of plugin calls (`call_record.h`): before each call
/// into plugin code the calling thread notes which build it calls and what
/// kind of call it is, in memory the supervisor reads after a worker's death
/// (docs/CONTAINMENT.md, "Attribution").
///
/// Lifecycle and assembly calls are timed (the supervisor watches their
/// deadline); request calls cost two plain stores.
package enum CallRecord {
    /// What kind of call a thread is in.
    package struct Kind: Sendable, Equatable {
        /// The value `call_record.h` defines.
        package let raw: ph_call_kind_t

        package static let parseConfig = Kind(raw: PH_CALL_PARSE_CONFIG)
        package static let create = Kind(raw: PH_CALL_CREATE)
        package static let start = Kind(raw: PH_CALL_START)
        package static let stop = Kind(raw: PH_CALL_STOP)
        package static let destroy = Kind(raw: PH_CALL_DESTROY)
        package static let saveState = Kind(raw: PH_CALL_SAVE_STATE)
        package static let restoreState = Kind(raw: PH_CALL_RESTORE_STATE)
        package static let accepts = Kind(raw: PH_CALL_ACCEPTS)
        package static let prepare = Kind(raw: PH_CALL_PREPARE)
        package static let release = Kind(raw: PH_CALL_RELEASE)
        package static let entry = Kind(raw: PH_CALL_ENTRY)
        package static let endpoint = Kind(raw: PH_CALL_ENDPOINT)
        package static let resume = Kind(raw: PH_CALL_RESUME)

        /// "create", "endpoint", … as the journal writes it.
        package var name: String { String(cString: ph_call_kind_name(raw)) }
    }

    /// Registers a build of `alias`; its index goes into every record of a call into it (0: unrecorded).
    package static func register(alias: String, manifestVersion: String, pluginVersion: String, sha256: String) -> UInt32 {
        ph_call_register_build(alias, manifestVersion, pluginVersion, sha256)
    }

    /// Sets the plugin version of `build`, known once its entry returned (registered before without one).
    package static func noteVersion(_ version: String, of build: UInt32) {
        ph_call_set_plugin_version(build, version)
    }

    /// Runs `body`, a timed call of `kind` into `build`; afterwards checks the
    /// crash handlers (a plugin may have replaced them) and restores them,
    /// logging on `logger` which call did it.
    @inline(__always)
    package static func timed<T, E: Error>(_ kind: Kind, _ build: UInt32, logger: Logger?,
                                           _ body: () throws(E) -> T) throws(E) -> T {
        let saved = ph_call_enter_timed(ph_call_what(kind.raw, build))
        defer {
            ph_call_leave_timed(saved)
            restoreHandlers(after: kind, logger: logger)
        }
        return try body()
    }

    /// Runs `body`, an untimed call of `kind` into `build` (a request's plugin work).
    @inline(__always)
    package static func untimed<T>(_ kind: Kind, _ build: UInt32, _ body: () throws -> T) rethrows -> T {
        let previous = ph_call_enter(ph_call_what(kind.raw, build))
        defer { ph_call_leave(previous) }
        return try body()
    }

    /// Puts the journal's fatal-signal handlers back if the call replaced them, naming it.
    private static func restoreHandlers(after kind: Kind, logger: Logger?) {
        let replaced = ph_crash_handlers_replaced()
        guard replaced != 0 else { return }
        ph_crash_restore_handlers()
        let names = [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP].filter { replaced & (1 << $0) != 0 }
            .map { String(cString: strsignal($0)) }
        logger?.error("replaced the host's handler for \(names.joined(separator: ", ")) during \(kind.name): restored (a plugin must not handle fatal signals itself: the host journals them and contains the crash)")
    }
}
