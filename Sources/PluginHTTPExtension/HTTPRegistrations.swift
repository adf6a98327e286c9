public import CPluginABI
public import PluginRuntime

/// A typed endpoint's parameter, copied from its `ph_param_t`.
struct TypedParameter: Sendable {
    let name: String
    let source: ph_source_t
    let type: ph_type_t
}

/// An endpoint a plugin registered during `create`.
struct EndpointRegistration {
    enum Kind {
        case raw(handler: ph_handler_fn, userData: UnsafeMutableRawPointer?)
        case typed(TypedEndpoint)
    }

    let method: String
    let pattern: PathPattern
    let kind: Kind
    let owner: PluginOwner
    /// The handler declared PH_MAY_DEFER.
    var mayDefer = false

    /// The typed endpoint, for a typed registration.
    var typed: TypedEndpoint? {
        if case .typed(let endpoint) = kind { endpoint } else { nil }
    }

    /// What the listing calls it: "raw", "async" (a raw endpoint that may defer) or "typed".
    var kindName: String {
        switch kind {
        case .raw: mayDefer ? "async" : "raw"
        case .typed: "typed"
        }
    }
}

/// Which endpoints a wrapper may wrap.
enum WrapperMatch: Sendable, CustomStringConvertible {
    case all
    case prefix(String)
    case path(String)
    case endpoint(method: String, path: String)

    /// Parses the `match` string of a `ph_wrapper_t`.
    static func parse(_ text: String) -> WrapperMatch? {
        if text == "*" { return .all }
        if text.hasPrefix("/") {
            return text.hasSuffix("*") ? .prefix(String(text.dropLast())) : .path(text)
        }
        let parts = text.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[1].hasPrefix("/"), HTTPExtension.isValidMethod(String(parts[0])) else { return nil }
        return .endpoint(method: String(parts[0]), path: String(parts[1]))
    }

    func matches(method: String, pattern: PathPattern) -> Bool {
        switch self {
        case .all: true
        case .prefix(let prefix): pattern.description.hasPrefix(prefix)
        case .path(let path): PathPattern.parse(path).map { $0.shape == pattern.shape }.get(or: false)
        case .endpoint(let wanted, let path): wanted == method && PathPattern.parse(path).map { $0.shape == pattern.shape }.get(or: false)
        }
    }

    var description: String {
        switch self {
        case .all: "*"
        case .prefix(let prefix): prefix + "*"
        case .path(let path): path
        case .endpoint(let method, let path): "\(method) \(path)"
        }
    }
}

/// A wrapper a plugin registered during `create`. `raw` is the plugin's
/// struct as registered; its `name` and `match` strings are not read again.
struct WrapperRegistration {
    let raw: ph_wrapper_t
    let name: String
    let match: WrapperMatch
    let owner: PluginOwner
    /// The wrapper declared PH_MAY_DEFER.
    var mayDefer = false

    var isPre: Bool { raw.phase == UInt32(PH_WRAP_PRE) }
}

extension Result {
    func get(or fallback: Success) -> Success {
        if case .success(let value) = self { return value }
        return fallback
    }
}
