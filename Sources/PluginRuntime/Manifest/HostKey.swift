import Synchronization

/// A `[host]` key that a layer above the runtime declares (the HTTP server's,
/// say): the runtime checks its value when a config loads and keeps it in
/// ``HostConfig/layerSettings``, without knowing what it means. The layer
/// reads it back through a type of its own (`HTTPServerConfig`).
public struct HostKey: Sendable {
    /// The key's name under `[host]`, e.g. `header-timeout-ms`.
    public let name: String
    /// The reason `value` is not acceptable (the error names the file and the key), or nil.
    public let check: @Sendable (ConfigValue) -> String?

    /// A key checked by `check`.
    public init(_ name: String, check: @escaping @Sendable (ConfigValue) -> String?) {
        self.name = name
        self.check = check
    }

    /// A positive number of milliseconds.
    public static func milliseconds(_ name: String) -> HostKey {
        HostKey(name) { value in
            if case .integer(let count) = value, count > 0 { return nil }
            return "must be a positive integer, found \(value.json)"
        }
    }

    /// An integer within `range`.
    public static func count(_ name: String, _ range: ClosedRange<Int64>) -> HostKey {
        HostKey(name) { value in
            if case .integer(let count) = value, range.contains(count) { return nil }
            return "must be an integer from \(range.lowerBound) to \(range.upperBound), found \(value.json)"
        }
    }

    /// `true` or `false`.
    public static func flag(_ name: String) -> HostKey {
        HostKey(name) { value in
            if case .bool = value { return nil }
            return "must be true or false, found \(value.json)"
        }
    }

    /// A string, one of `choices` when given.
    public static func text(_ name: String, oneOf choices: [String]? = nil) -> HostKey {
        HostKey(name) { value in
            guard let text = value.string else { return "must be a string, found \(value.json)" }
            guard let choices, !choices.contains(text) else { return nil }
            return "must be " + choices.map { "\"\($0)\"" }.joined(separator: ", ") + ", found \(value.json)"
        }
    }
}

/// A declared key's value as a config keeps it: the scalar kinds `[host]` keys hold, stored
/// inline (an indirect `ConfigValue` kept until exit reads as a leak to LeakSanitizer, whose
/// scan does not see a box pointer with the enum's case in its spare bits).
public enum HostSetting: Sendable, Hashable {
    /// An integer.
    case integer(Int64)
    /// A boolean.
    case bool(Bool)
    /// A string.
    case text(String)
    /// Anything else (a float, an array, a table).
    case other(ConfigValue)

    /// `value` as kept.
    public init(_ value: ConfigValue) {
        switch value {
        case .integer(let number): self = .integer(number)
        case .bool(let flag): self = .bool(flag)
        case .string(let text): self = .text(text)
        default: self = .other(value)
        }
    }

    /// The string, for ``text(_:)``.
    public var text: String? {
        if case .text(let text) = self { return text }
        return nil
    }
}

/// The keys and whole-layer checks layers have declared, for every config this process loads.
enum HostKeyRegistry {
    struct Layer {
        let keys: [HostKey]
        /// A rule across the layer's keys (e.g. one key needs another): the reason it is broken, or nil.
        let check: @Sendable ([String: HostSetting]) -> String?
    }

    private static let layers = Mutex<[String: Layer]>([:])

    static func declare(_ name: String, _ layer: Layer) {
        layers.withLock { $0[name] = layer }
    }

    static func key(named name: String) -> HostKey? {
        layers.withLock { layers in layers.values.lazy.flatMap(\.keys).first { $0.name == name } }
    }

    static var names: [String] {
        layers.withLock { $0.values.flatMap { $0.keys.map(\.name) } }.sorted()
    }

    static var checks: [@Sendable ([String: HostSetting]) -> String?] {
        layers.withLock { layers in layers.keys.sorted().compactMap { name in layers[name]?.check } }
    }
}

extension HostConfig {
    /// Declares the `[host]` keys of the layer `layer` (once per process; a later call replaces
    /// it): every config loaded afterwards accepts them, checks each value with its key's check and
    /// the whole layer's values with `check`, and keeps them in ``layerSettings``.
    public static func declare(layer: String, keys: [HostKey],
                               check: @escaping @Sendable ([String: HostSetting]) -> String? = { _ in nil }) {
        HostKeyRegistry.declare(layer, .init(keys: keys, check: check))
    }
}
