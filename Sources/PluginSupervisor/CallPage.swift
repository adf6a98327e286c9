#if canImport(Glibc)
import Glibc
#endif
import CCallRecord
public import PluginRuntime

/// One plugin call a worker had in flight, as its in-flight record says.
public struct InFlightCall: Sendable, Equatable {
    /// The thread (its kernel id).
    public var thread: Int32
    /// "create", "endpoint", "event", … (see `call_record.h`).
    public var call: String
    /// Whether the call is a lifecycle or assembly call (under `lifecycle-timeout-ms`).
    public var timed: Bool
    /// The build called into (nil when the record names none this page knows).
    public var build: JournaledBuild?
    /// How long the call had run when read (timed calls only).
    public var running: Duration?

    /// A call `call` on `thread` into `build`.
    public init(thread: Int32, call: String, timed: Bool, build: JournaledBuild?, running: Duration? = nil) {
        self.thread = thread
        self.call = call
        self.timed = timed
        self.build = build
        self.running = running
    }

    /// "alias (call)" for a log line.
    public var description: String { "\(build?.alias ?? "?") (\(call))" }
}

/// What a dead worker's in-flight record says about its death.
public struct DeathEvidence: Sendable, Equatable {
    /// Every plugin call in flight when it died.
    public var inFlight: [InFlightCall]
    /// The thread that called `exit`, with the status, when one did.
    public var exitingThread: Int32?
    public var exitStatus: Int32
    /// The thread the crash handler ran on, with its signal, when it ran.
    public var faultingThread: Int32?
    public var faultingSignal: Int32

    /// Evidence of a death that left no record.
    public static let none = DeathEvidence(inFlight: [], exitingThread: nil, exitStatus: 0, faultingThread: nil, faultingSignal: 0)

    /// Evidence as read from a page.
    public init(inFlight: [InFlightCall], exitingThread: Int32?, exitStatus: Int32, faultingThread: Int32?, faultingSignal: Int32) {
        self.inFlight = inFlight
        self.exitingThread = exitingThread
        self.exitStatus = exitStatus
        self.faultingThread = faultingThread
        self.faultingSignal = faultingSignal
    }
}

/// The in-flight record page of one worker (`call_record.h`), made by the
/// supervisor before the worker starts and read by it during and after the
/// worker's life. The worker inherits the descriptor at ``WorkerDescriptors/callPage``.
public final class CallPage {
    /// The page's in-memory file (close-on-exec here; dup2'd into the worker).
    public let descriptor: Int32
    private let page: UnsafeMutablePointer<ph_call_page_t>

    /// A new zeroed page; nil when it cannot be made (`errno` says why).
    public init?() {
        var descriptor: Int32 = -1
        guard let page = ph_call_page_create(&descriptor) else { return nil }
        self.page = page
        self.descriptor = descriptor
    }

    deinit {
        ph_call_page_destroy(page)
        close(descriptor)
    }

    /// The calls in flight now; `now` (``ph_call_clock_ns``) dates the timed ones.
    public func inFlight(now: UInt64? = nil) -> [InFlightCall] {
        let now = now ?? ph_call_clock_ns()
        var seen = [ph_call_seen_t](repeating: ph_call_seen_t(), count: 256)
        let count = Int(ph_call_page_in_flight(page, &seen, Int32(seen.count)))
        var builds: [UInt32: JournaledBuild?] = [:]
        return seen.prefix(count).map { call in
            let build: JournaledBuild?
            if let known = builds[call.build] {
                build = known
            } else {
                build = self.build(call.build)
                builds[call.build] = build
            }
            let timed = call.kind < PH_CALL_TIMED_LIMIT
            let running: Duration? = timed && call.since_ns > 0 && now >= call.since_ns ? .nanoseconds(Int64(now - call.since_ns)) : nil
            return InFlightCall(thread: call.tid, call: String(cString: ph_call_kind_name(call.kind)), timed: timed, build: build, running: running)
        }
    }

    /// Everything the page says about a death (read after the worker died).
    public func evidence() -> DeathEvidence {
        var exiting: Int32 = 0, status: Int32 = 0, faulting: Int32 = 0, signal: Int32 = 0
        ph_call_page_deaths(page, &exiting, &status, &faulting, &signal)
        return DeathEvidence(inFlight: inFlight(), exitingThread: exiting != 0 ? exiting : nil, exitStatus: status,
                             faultingThread: faulting != 0 ? faulting : nil, faultingSignal: signal)
    }

    private func build(_ index: UInt32) -> JournaledBuild? {
        var raw = ph_call_build_t()
        guard ph_call_page_build(page, index, &raw) == 0 else { return nil }
        func text<T>(_ field: inout T) -> String {
            withUnsafeBytes(of: &field) { bytes in
                let prefix = bytes.prefix { $0 != 0 }
                return String(decoding: prefix, as: UTF8.self)
            }
        }
        return JournaledBuild(alias: text(&raw.alias), manifestVersion: text(&raw.manifest_version),
                              pluginVersion: text(&raw.plugin_version), sha256: text(&raw.sha256))
    }
}
