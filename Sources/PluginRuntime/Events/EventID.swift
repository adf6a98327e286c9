import CPluginABI

/// The id of an event: built-in ids are fixed by the ABI; custom ones are
/// handed out by ``EventNames`` and stay the same for the life of the process.
public struct EventID: Hashable, Sendable, CustomStringConvertible {
    /// The numeric id as it crosses the ABI.
    public let rawValue: UInt32

    /// Wraps a raw id.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The host is about to start plugins.
    public static let preStart = EventID(rawValue: UInt32(PH_EVENT_PRE_START))
    /// Every plugin has started.
    public static let postStart = EventID(rawValue: UInt32(PH_EVENT_POST_START))
    /// The host is about to stop plugins.
    public static let preShutdown = EventID(rawValue: UInt32(PH_EVENT_PRE_SHUTDOWN))
    /// Every plugin has stopped.
    public static let postShutdown = EventID(rawValue: UInt32(PH_EVENT_POST_SHUTDOWN))
    /// A plugin started; payload is its alias.
    public static let pluginLoaded = EventID(rawValue: UInt32(PH_EVENT_PLUGIN_LOADED))
    /// A plugin is about to stop; payload is its alias.
    public static let pluginUnloaded = EventID(rawValue: UInt32(PH_EVENT_PLUGIN_UNLOADED))
    /// A reload replaced a plugin with a new build (or re-created it); payload is "ALIAS OLD-VERSION NEW-VERSION".
    public static let pluginReloaded = EventID(rawValue: UInt32(PH_EVENT_PLUGIN_RELOADED))
    /// A reload failed and the running plugins were kept; payload is the reason.
    public static let reloadFailed = EventID(rawValue: UInt32(PH_EVENT_RELOAD_FAILED))

    /// An HTTP client connected; payload is its address, "IP:PORT".
    public static let clientConnected = EventID(rawValue: UInt32(PH_EVENT_CLIENT_CONNECTED))
    /// An HTTP client's connection closed; payload is its address, "IP:PORT".
    public static let clientDisconnected = EventID(rawValue: UInt32(PH_EVENT_CLIENT_DISCONNECTED))
    /// An HTTP request arrived; payload is "METHOD PATH".
    public static let requestReceived = EventID(rawValue: UInt32(PH_EVENT_REQUEST_RECEIVED))
    /// An HTTP response was produced; payload is "STATUS MICROSECONDS METHOD PATH".
    public static let responseSent = EventID(rawValue: UInt32(PH_EVENT_RESPONSE_SENT))

    /// Whether this is a custom (plugin-defined) event.
    public var isCustom: Bool { rawValue >= UInt32(PH_EVENT_FIRST_CUSTOM) }

    /// The event's registered name, or `#id`.
    public var description: String { EventNames.shared.name(of: self) ?? "#\(rawValue)" }
}
