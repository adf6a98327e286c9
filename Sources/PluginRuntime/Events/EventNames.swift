#if canImport(Glibc)
import Glibc
#endif
import CPluginABI
import Synchronization

/// The process-wide table of event names and ids.
///
/// Built-in events have the fixed ids of the ABI; a custom name gets the next
/// free id at or above `PH_EVENT_FIRST_CUSTOM` the first time anyone asks.
/// Names are interned as C strings that live as long as the process, so an
/// event can carry its name without copying.
public final class EventNames: Sendable {
    /// The one table of this process.
    public static let shared = EventNames()

    /// Built-in names, indexed by their fixed id.
    static let builtinNames: [UInt32: String] = [
        UInt32(PH_EVENT_PRE_START): "plughost.pre-start",
        UInt32(PH_EVENT_POST_START): "plughost.post-start",
        UInt32(PH_EVENT_PRE_SHUTDOWN): "plughost.pre-shutdown",
        UInt32(PH_EVENT_POST_SHUTDOWN): "plughost.post-shutdown",
        UInt32(PH_EVENT_PLUGIN_LOADED): "plughost.plugin-loaded",
        UInt32(PH_EVENT_PLUGIN_UNLOADED): "plughost.plugin-unloaded",
        UInt32(PH_EVENT_PLUGIN_RELOADED): "plughost.plugin-reloaded",
        UInt32(PH_EVENT_RELOAD_FAILED): "plughost.reload-failed",
        UInt32(PH_EVENT_CLIENT_CONNECTED): "plughost.client-connected",
        UInt32(PH_EVENT_REQUEST_RECEIVED): "plughost.request-received",
        UInt32(PH_EVENT_RESPONSE_SENT): "plughost.response-sent",
        UInt32(PH_EVENT_CLIENT_DISCONNECTED): "plughost.client-disconnected",
    ]

    private struct State: ~Copyable {
        var ids: [String: UInt32] = [:]
        /// Interned names by id; nil for unused ids. Never freed.
        var cNames: [UnsafePointer<CChar>?] = []
    }

    private let state: Mutex<State>

    private init() {
        var initial = State()
        initial.cNames = Array(repeating: nil, count: Int(PH_EVENT_FIRST_CUSTOM))
        for (id, name) in Self.builtinNames {
            initial.ids[name] = id
            initial.cNames[Int(id)] = UnsafePointer(strdup(name)!)
        }
        state = Mutex(initial)
    }

    /// The id of `name`, registering a custom event if it is new; nil when the
    /// name is invalid (1–200 bytes of `A-Za-z0-9._-/:`) or uses the reserved
    /// `plughost.` prefix without being a built-in event.
    public func id(for name: String) -> EventID? {
        guard Self.isValidName(name) else { return nil }
        return state.withLock { state in
            if let id = state.ids[name] { return EventID(rawValue: id) }
            guard !name.hasPrefix("plughost.") else { return nil }
            let id = UInt32(state.cNames.count)
            state.ids[name] = id
            state.cNames.append(UnsafePointer(strdup(name)!))
            return EventID(rawValue: id)
        }
    }

    /// The name of `id`, or nil when no event has it.
    public func name(of id: EventID) -> String? {
        cName(of: id).map { String(cString: $0) }
    }

    /// The interned C name of `id` (valid for the life of the process), or nil.
    func cName(of id: EventID) -> UnsafePointer<CChar>? {
        state.withLock { state in
            Int(id.rawValue) < state.cNames.count ? state.cNames[Int(id.rawValue)] : nil
        }
    }

    /// One past the highest id handed out so far.
    var idLimit: Int { state.withLock { $0.cNames.count } }

    static func isValidName(_ name: String) -> Bool {
        let bytes = name.utf8
        guard !bytes.isEmpty, bytes.count <= 200 else { return false }
        return bytes.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
                || byte == UInt8(ascii: "/") || byte == UInt8(ascii: ":")
        }
    }
}
