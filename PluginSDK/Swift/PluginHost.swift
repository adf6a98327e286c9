public import CPluginABI

/// The host as a Swift plugin sees it: logging, config, events, checks,
/// services and cache. Wraps the `ph_host_t` handed to `create`.
///
/// Keep it for the life of the instance. Subscriptions and services may be
/// registered only inside ``Plugin/init(host:)``.
public final class PluginHost: @unchecked Sendable {
    // @unchecked Sendable: `raw` is host memory valid until destroy and meant to be
    // called from any thread; `handlers` is appended to only during create.

    /// The C host API.
    public let raw: UnsafePointer<ph_host_t>
    /// Handler boxes kept alive for as long as the instance lives.
    private var handlers: [AnyObject] = []

    init(_ raw: UnsafePointer<ph_host_t>) { self.raw = raw }

    /// Keeps `box` (a handler the host calls back through) alive as long as the instance.
    func retain(_ box: AnyObject) { handlers.append(box) }

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

    /// The id of the event named `name` (registered if new); nil for an invalid name.
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

    /// Publishes the event named `name` with `payload` to every subscriber (from `start` on).
    @discardableResult
    public func publish(_ name: String, payload: [UInt8]) -> Bool {
        guard let id = eventID(name) else { return false }
        return payload.withUnsafeBytes { raw.pointee.publish(raw, id, $0.baseAddress, $0.count) } == PH_OK
    }

    /// Publishes the event named `name` with a UTF-8 payload.
    @discardableResult
    public func publish(_ name: String, text: String) -> Bool { publish(name, payload: Array(text.utf8)) }

    /// Runs the check event named `name`; the first deny wins.
    public func check(_ name: String, text: String) -> CheckVerdict {
        guard let id = eventID(name) else { return .abstain }
        var buffer = [CChar](repeating: 0, count: 512)
        let verdict = buffer.withUnsafeMutableBufferPointer { storage in
            var message = ph_message_t(data: storage.baseAddress, capacity: storage.count)
            return Array(text.utf8).withUnsafeBytes { raw.pointee.check(raw, id, $0.baseAddress, $0.count, &message) }
        }
        switch verdict {
        case PH_DENY: return .deny(buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        case PH_ALLOW: return .allow
        default: return .abstain
        }
    }

    /// Offers `service` (a C struct of function pointers that must live until destroy) under `id`. Only inside `init(host:)`.
    public func provide(service: UnsafeRawPointer, id: String) throws {
        let status = raw.pointee.provide_service(raw, id, service)
        guard status == PH_OK else { throw PluginFailure("provide_service '\(id)' failed with status \(status)") }
    }

    /// The service under `id`, typed as `T`, or nil. Look up in `start` or later.
    public func service<T>(_ id: String, as type: T.Type) -> UnsafePointer<T>? {
        raw.pointee.get_service(raw, id)?.assumingMemoryBound(to: T.self)
    }

    /// Caches `value` under `key` for `ttlMilliseconds` (0: no expiry).
    public func cacheSet(_ key: String, _ value: [UInt8], ttlMilliseconds: UInt64 = 0) {
        let keyBytes = Array(key.utf8)
        _ = keyBytes.withUnsafeBytes { k in
            value.withUnsafeBytes { v in raw.pointee.cache_set(raw, k.baseAddress, k.count, v.baseAddress, v.count, ttlMilliseconds) }
        }
    }

    /// The value cached under `key`, or nil.
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

    /// Removes every cached entry whose key starts with `prefix` (empty: all).
    public func cacheInvalidate(prefix: String = "") {
        _ = Array(prefix.utf8).withUnsafeBytes { raw.pointee.cache_invalidate(raw, $0.baseAddress, $0.count) }
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
    /// Copies `text` (truncated) into a host-owned message buffer, if any.
    static func write(_ text: String, to message: UnsafeMutablePointer<ph_message_t>?) {
        var text = text
        text.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { ph_message_copy(message, $0.baseAddress, $0.count) }
        }
    }
}
