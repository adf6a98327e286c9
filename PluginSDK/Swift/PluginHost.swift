public import CPluginABI

/// The host as a Swift plugin sees it: logging, config, events, checks,
/// services and cache. Wraps the `ph_host_t` handed to `create`.
///
/// Keep it for the life of the instance. Subscriptions and services may be
/// registered only inside ``Plugin/init(host:)``.
///
/// The host object keeps every handler registered through it (subscriptions, services,
/// endpoints, wrappers) until the instance is released (`destroy`), and drops them all
/// then: a handler may capture the host, or the plugin object, without leaking the
/// instance (the cycle is broken at `destroy`).
public final class PluginHost: @unchecked Sendable {
    // @unchecked Sendable: `raw` is host memory valid until destroy and meant to be
    // called from any thread; `handlers` is appended to only during create and emptied
    // only in destroy, when the host makes no other call into the instance.

    /// The C host API.
    public let raw: UnsafePointer<ph_host_t>
    /// Handler boxes kept alive for as long as the instance lives.
    private var handlers: [AnyObject] = []

    init(_ raw: UnsafePointer<ph_host_t>) { self.raw = raw }

    /// Keeps `box` (a handler the host calls back through) alive as long as the instance.
    func retain(_ box: AnyObject) { handlers.append(box) }

    /// Drops every handler box, at `destroy`: the host calls none of them any more, and the
    /// closures they hold (which may capture this host or the plugin object) would otherwise
    /// keep the whole instance alive in a cycle. The boxes go only once `handlers` is empty, so
    /// a deinit they trigger (the plugin object's, say) never runs inside an access to it.
    func releaseHandlers() {
        let dropped = handlers
        handlers = []
        withExtendedLifetime(dropped) {}
    }

    /// This instance's alias.
    public var alias: String { String(cString: raw.pointee.alias) }

    /// This instance's config.
    public var config: PluginConfig { PluginConfig(raw.pointee.config) }

    /// Log severities.
    public enum LogLevel: Int32, Sendable { case trace = 0, debug, info, warning, error }

    /// Writes one log line tagged with the plugin's alias.
    public func log(_ level: LogLevel, _ message: String) {
        raw.pointee.log(raw, level.rawValue, message)
    }

    /// The id of the event named `name` (registered if new); nil for an invalid name
    /// (1–200 bytes of `[A-Za-z0-9._-/:]`, and not starting with `plughost.` unless built in).
    public func eventID(_ name: String) -> ph_event_id_t? {
        let id = raw.pointee.event_id(raw, name)
        return id == ph_event_id_t(PH_EVENT_NONE) ? nil : id
    }

    /// Subscribes `handler` to the event named `name`. Only inside `init(host:)`.
    /// - Throws: ``PluginFailure`` for an invalid name or outside create.
    public func subscribe(to name: String, priority: Int32 = 0, _ handler: @escaping (PluginEvent) -> Void) throws {
        guard let id = eventID(name) else { throw PluginFailure("invalid event name '\(name)'") }
        let box = EventHandlerBox(handler)
        let status = raw.pointee.subscribe(raw, id, priority, { userData, event in
            Unmanaged<EventHandlerBox>.fromOpaque(userData!).takeUnretainedValue().handler(PluginEvent(event!))
        }, Unmanaged.passUnretained(box).toOpaque())
        guard status == PH_OK else { throw PluginFailure("subscribe to '\(name)' failed with status \(status)") }
        handlers.append(box)
    }

    /// Subscribes a check to the event named `name`. Only inside `init(host:)`.
    public func subscribeCheck(to name: String, priority: Int32 = 0, _ handler: @escaping (PluginEvent) -> CheckVerdict) throws {
        guard let id = eventID(name) else { throw PluginFailure("invalid event name '\(name)'") }
        let box = CheckHandlerBox(handler)
        let status = raw.pointee.subscribe_check(raw, id, priority, { userData, event, reason in
            let verdict = Unmanaged<CheckHandlerBox>.fromOpaque(userData!).takeUnretainedValue().handler(PluginEvent(event!))
            switch verdict {
            case .allow: return PH_ALLOW
            case .abstain: return PH_ABSTAIN
            case .deny(let text):
                MessageWriter.write(text, to: reason)
                return PH_DENY
            }
        }, Unmanaged.passUnretained(box).toOpaque())
        guard status == PH_OK else { throw PluginFailure("subscribe_check to '\(name)' failed with status \(status)") }
        handlers.append(box)
    }

    /// Publishes the custom event named `name` with `payload` to every subscriber, synchronously
    /// on this thread; false before the host's pre-start event (so from `init(host:)`), for a
    /// built-in event, or an invalid name.
    @discardableResult
    public func publish(_ name: String, payload: [UInt8]) -> Bool {
        guard let id = eventID(name) else { return false }
        return payload.withUnsafeBytes { raw.pointee.publish(raw, id, $0.baseAddress, $0.count) } == PH_OK
    }

    /// Publishes the event named `name` with a UTF-8 payload.
    @discardableResult
    public func publish(_ name: String, text: String) -> Bool { publish(name, payload: Array(text.utf8)) }

    /// Runs the check event named `name` with `text` as its payload: the first subscriber that
    /// denies wins, else ``CheckVerdict/allow`` if any allowed, else ``CheckVerdict/abstain``.
    ///
    /// ```swift
    /// // fragment: statements
    /// if case .deny(let reason) = host.check("access.check", text: "mallory") {
    ///     host.log(.warning, "refused: \(reason)")
    /// }
    /// ```
    ///
    /// A deny reason reaches you whole up to 1,022 bytes of UTF-8: the host gives its
    /// subscribers one buffer of capacity 1,023 (the NUL included) and cuts longer text there
    /// without a signal, possibly inside a character (which then reads as U+FFFD). This SDK
    /// reads the host's reason into a buffer that holds all of it.
    public func check(_ name: String, text: String) -> CheckVerdict {
        check(name, payload: Array(text.utf8))
    }

    /// Runs the check event named `name` with a byte payload (see ``check(_:text:)``).
    public func check(_ name: String, payload: [UInt8]) -> CheckVerdict {
        guard let id = eventID(name) else { return .abstain }
        // One byte more than the host's own buffer: a reason the host cut inside a character
        // (3 bytes of U+FFFD in place of 1 or 2) still fits whole.
        var buffer = [CChar](repeating: 0, count: MessageWriter.capacity + 3)
        let verdict = buffer.withUnsafeMutableBufferPointer { storage in
            var message = ph_message_t(data: storage.baseAddress, capacity: storage.count - 1)
            return payload.withUnsafeBytes { raw.pointee.check(raw, id, $0.baseAddress, $0.count, &message) }
        }
        switch verdict {
        case PH_DENY: return .deny(buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        case PH_ALLOW: return .allow
        default: return .abstain
        }
    }

    /// Offers `service`, a C struct of function pointers that must stay valid until the instance
    /// is released, under `id` (e.g. `"audit.log/1"`). Only inside `init(host:)`. For a
    /// service defined in Swift, ``provideService(_:_:)`` builds the struct for you.
    public func provide(service: UnsafeRawPointer, id: String) throws {
        let status = raw.pointee.provide_service(raw, id, service)
        guard status == PH_OK else { throw PluginFailure("provide_service '\(id)' failed with status \(status)") }
    }

    /// The C service under `id`, as the struct type `T` its provider's header declares, or nil
    /// when no plugin provides it. Look it up in `start` or later.
    ///
    /// ```swift
    /// // fragment: statements
    /// import AuditService      // plugins/audit/include/audit.h: audit_service_t, AUDIT_SERVICE_ID
    /// if let audit = host.service(AUDIT_SERVICE_ID, as: audit_service_t.self) {
    ///     audit.pointee.record(audit.pointee.context, "hello from Swift")
    /// }
    /// ```
    public func service<T>(_ id: String, as type: T.Type) -> UnsafePointer<T>? {
        raw.pointee.get_service(raw, id)?.assumingMemoryBound(to: T.self)
    }

    /// Caches a copy of `value` under `key` in this plugin's cache namespace, for
    /// `ttlMilliseconds` (0: no expiry). The oldest entries are evicted past the host's
    /// per-plugin limit (`cache-entries`); the host clears the namespace when the plugin unloads.
    ///
    /// ```swift
    /// // fragment: statements
    /// try host.cacheSet("greetings", Array("3".utf8), ttlMilliseconds: 60_000).get()
    /// ```
    /// - Returns: `.success`, or the host's status as a ``HostError`` (call `.get()` to throw it).
    @discardableResult
    public func cacheSet(_ key: String, _ value: [UInt8], ttlMilliseconds: UInt64 = 0) -> Result<Void, HostError> {
        let keyBytes = Array(key.utf8)
        let status = keyBytes.withUnsafeBytes { k in
            value.withUnsafeBytes { v in raw.pointee.cache_set(raw, k.baseAddress, k.count, v.baseAddress, v.count, ttlMilliseconds) }
        }
        return status == PH_OK ? .success(()) : .failure(HostError(code: status))
    }

    /// The value cached under `key`, or nil when it is absent or expired (or the host failed).
    ///
    /// ```swift
    /// // fragment: statements
    /// let greetings = host.cacheGet("greetings").map { String(decoding: $0, as: UTF8.self) } ?? "0"
    /// ```
    public func cacheGet(_ key: String) -> [UInt8]? {
        let keyBytes = Array(key.utf8)
        var length = 0
        var buffer = [UInt8](repeating: 0, count: 256)
        while true {
            let status = keyBytes.withUnsafeBytes { k in
                buffer.withUnsafeMutableBytes { b in raw.pointee.cache_get(raw, k.baseAddress, k.count, b.baseAddress, b.count, &length) }
            }
            switch status {
            case PH_OK: return Array(buffer[0..<length])
            case PH_ERR_TOO_SMALL: buffer = [UInt8](repeating: 0, count: length)
            default: return nil
            }
        }
    }

    /// Removes every cached entry whose key starts with `prefix` (empty: the whole namespace).
    ///
    /// ```swift
    /// // fragment: statements
    /// host.cacheInvalidate(prefix: "greeting.")       // the result may be ignored
    /// try host.cacheInvalidate().get()                // or thrown
    /// ```
    /// - Returns: `.success`, or the host's status as a ``HostError``.
    @discardableResult
    public func cacheInvalidate(prefix: String = "") -> Result<Void, HostError> {
        let status = Array(prefix.utf8).withUnsafeBytes { raw.pointee.cache_invalidate(raw, $0.baseAddress, $0.count) }
        return status == PH_OK ? .success(()) : .failure(HostError(code: status))
    }
}

/// A status other than `PH_OK` that a host function answered (`ph_status_t`), as a Swift error.
///
/// Compare with the constants: `if case .failure(.notFound) = result { … }`.
public struct HostError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The `ph_status_t` value.
    public let code: Int32

    /// Wraps a status code.
    public init(code: Int32) { self.code = code }

    /// `PH_ERR_INVALID`: an argument is invalid.
    public static let invalid = HostError(code: PH_ERR_INVALID)
    /// `PH_ERR_FAILED`: the operation failed.
    public static let failed = HostError(code: PH_ERR_FAILED)
    /// `PH_ERR_NOT_FOUND`: no such key, service or event.
    public static let notFound = HostError(code: PH_ERR_NOT_FOUND)
    /// `PH_ERR_TYPE`: a value exists but has another type.
    public static let wrongType = HostError(code: PH_ERR_TYPE)
    /// `PH_ERR_STATE`: not allowed in this lifecycle phase (e.g. registering outside `init(host:)`).
    public static let state = HostError(code: PH_ERR_STATE)
    /// `PH_ERR_UNSUPPORTED`: the host does not support this.
    public static let unsupported = HostError(code: PH_ERR_UNSUPPORTED)
    /// `PH_ERR_TOO_SMALL`: an output buffer is too small.
    public static let tooSmall = HostError(code: PH_ERR_TOO_SMALL)
    /// `PH_ERR_CANCELLED`: the host gave up on a deferred request.
    public static let cancelled = HostError(code: PH_ERR_CANCELLED)

    public var description: String {
        let name = switch code {
        case PH_ERR_INVALID: "PH_ERR_INVALID"
        case PH_ERR_FAILED: "PH_ERR_FAILED"
        case PH_ERR_NOT_FOUND: "PH_ERR_NOT_FOUND"
        case PH_ERR_TYPE: "PH_ERR_TYPE"
        case PH_ERR_STATE: "PH_ERR_STATE"
        case PH_ERR_UNSUPPORTED: "PH_ERR_UNSUPPORTED"
        case PH_ERR_TOO_SMALL: "PH_ERR_TOO_SMALL"
        case PH_PENDING: "PH_PENDING"
        case PH_ERR_CANCELLED: "PH_ERR_CANCELLED"
        default: "status"
        }
        return "\(name) (\(code))"
    }
}

/// A check's answer.
public enum CheckVerdict: Equatable, Sendable {
    /// Allowed by this subscriber.
    case allow
    /// No opinion.
    case abstain
    /// Denied, with the reason.
    case deny(String)
}

/// One event as a Swift subscriber sees it; valid only during the handler.
public struct PluginEvent {
    /// The C event.
    public let raw: UnsafePointer<ph_event_t>
    init(_ raw: UnsafePointer<ph_event_t>) { self.raw = raw }
    /// The event's name.
    public var name: String { String(cString: raw.pointee.name) }
    /// The publisher's alias, or `plughost`.
    public var source: String { String(cString: raw.pointee.source) }
    /// The payload bytes (valid during the handler only).
    public var payload: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: raw.pointee.payload, count: raw.pointee.payload_length) }
    /// The payload as UTF-8 text.
    public var text: String { String(decoding: payload, as: UTF8.self) }
}

final class EventHandlerBox {
    let handler: (PluginEvent) -> Void
    init(_ handler: @escaping (PluginEvent) -> Void) { self.handler = handler }
}

final class CheckHandlerBox {
    let handler: (PluginEvent) -> CheckVerdict
    init(_ handler: @escaping (PluginEvent) -> CheckVerdict) { self.handler = handler }
}

enum MessageWriter {
    /// The capacity of the host's message buffers (`ph_message_t.capacity`, the NUL included).
    static let capacity = 1023

    /// Copies `text` into a host-owned message buffer, if any, cut to fit its capacity (at most
    /// `capacity - 1` bytes) on a character boundary, so that the host never reads a broken
    /// UTF-8 sequence. Nothing tells the host the text was cut.
    static func write(_ text: String, to message: UnsafeMutablePointer<ph_message_t>?) {
        guard let message, message.pointee.capacity > 0 else { return }
        var bytes = Array(text.utf8)
        let room = message.pointee.capacity - 1
        if bytes.count > room {
            var end = room
            // Back up over continuation bytes (10xxxxxx) to the start of the cut character.
            while end > 0 && bytes[end] & 0xC0 == 0x80 { end -= 1 }
            bytes.removeSubrange(end...)
        }
        bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { ph_message_copy(message, $0.baseAddress, $0.count) }
        }
    }
}
