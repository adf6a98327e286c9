public import PluginRuntime
import Logging

extension EndpointTable {
    /// Every route, for the admin listing.
    public var listing: [EndpointListing] {
        routes.map { route in
            EndpointListing(
                alias: route.registration.owner.alias, method: route.registration.method,
                path: route.registration.pattern.description, kind: route.registration.kindName, wrappers: route.wrapperNames,
                unavailable: route.fence.map { "wrapped by quarantined plugin '\($0.alias)'" } ?? route.disabled)
        } + fencedListing
    }

    /// Registered wrappers by alias, as "name (pre|post, match)", for the admin listing.
    public var wrapperListing: [String: [String]] {
        var byAlias: [String: [String]] = [:]
        for wrapper in wrappers {
            byAlias[wrapper.owner.alias, default: []].append("\(wrapper.name) (\(wrapper.isPre ? "pre" : "post"), \(wrapper.match))")
        }
        return byAlias
    }
}

/// One served endpoint, as the admin listing shows it.
public struct EndpointListing: Sendable {
    /// The alias of the plugin that serves it.
    public var alias: String
    /// "GET", …
    public var method: String
    /// The path pattern.
    public var path: String
    /// "raw", "async" (a raw endpoint that may defer) or "typed".
    public var kind: String
    /// Wrappers around it, outermost first, as "alias/name".
    public var wrappers: [String]
    /// Why it answers 503, if it does.
    public var unavailable: String?
}
