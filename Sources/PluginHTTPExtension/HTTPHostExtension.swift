public import CPluginABI
public import PluginRuntime

/// The `plughost.http/1` extension as the runtime sees it: a registration store
/// per plugin (endpoints and wrappers) and, per generation, the frozen
/// ``EndpointTable``. Offer it with `PluginRuntime(…, extensions: [HTTPHostExtension.shared])`.
public final class HTTPHostExtension: HostExtension {
    /// The one instance (its C table is static).
    public static let shared = HTTPHostExtension()

    /// Declares the HTTP server's `[host]` keys too (``HTTPServerConfig``): a runtime that
    /// offers HTTP reloads configs that may set them.
    private init() {
        HTTPServerConfig.declare()
    }

    /// `plughost.http/1`.
    public var id: String { String(cString: PH_EXT_HTTP) }

    /// The `ph_http_t` plugins get.
    public var table: UnsafeRawPointer { UnsafeRawPointer(HTTPExtension.table) }

    /// An empty store of endpoints and wrappers for `owner`.
    public func makeRegistrations(for owner: PluginOwner) -> any ExtensionRegistrations {
        HTTPRegistrationStore()
    }

    /// The endpoint table of the stores' registrations, in priority order (conflicts resolved, wrappers prepared).
    public func assemble(_ registrations: [any ExtensionRegistrations]) -> any ExtensionPart {
        assemble(registrations, fences: [])
    }

    /// Freezes the registrations into an ``EndpointTable`` where what the `fences`' plugins guarded answers 503.
    public func assemble(_ registrations: [any ExtensionRegistrations], fences: [QuarantineFence]) -> any ExtensionPart {
        var endpoints: [EndpointRegistration] = []
        var wrappers: [WrapperRegistration] = []
        for store in registrations {
            let store = unsafeDowncast(store, to: HTTPRegistrationStore.self)
            endpoints += store.endpoints
            wrappers += store.wrappers
        }
        return EndpointTable(endpoints: endpoints, wrappers: wrappers, fences: fences.map(HTTPFence.init))
    }
}

/// What one plugin registered through `ph_http_t` during its `create`, in registration order.
final class HTTPRegistrationStore: ExtensionRegistrations {
    /// Endpoints, in registration order.
    var endpoints: [EndpointRegistration] = []
    /// Wrappers, in registration order.
    var wrappers: [WrapperRegistration] = []
    /// Registrations refused (the plugin still loads).
    var warnings: [PluginError] = []

    func clear() {
        endpoints = []
        wrappers = []
    }
}
