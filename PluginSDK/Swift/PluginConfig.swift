public import CPluginABI

/// Read-only access to the plugin's config table (`[plugin.ALIAS]` in the host config).
///
/// Keys are dotted paths: `limits.max`, `tokens.0`. Valid during
/// ``Plugin/validate(config:)`` and, through ``PluginHost/config``, until the instance is released.
public struct PluginConfig: @unchecked Sendable {
    // @unchecked Sendable: a read-only view of host memory that outlives it.

    /// The C view.
    public let raw: UnsafePointer<ph_config_t>

    /// Wraps the host's config.
    public init(_ raw: UnsafePointer<ph_config_t>) { self.raw = raw }

    /// Every leaf key.
    public var keys: [String] {
        (0..<raw.pointee.key_count).compactMap { raw.pointee.key_at(raw, $0).map { String(cString: $0) } }
    }

    /// The string at `key`; nil when absent. Throws when it has another type.
    public func string(_ key: String) throws -> String? {
        var value: UnsafePointer<CChar>?
        return try read(key, raw.pointee.get_string(raw, key, &value, nil)) { String(cString: value!) }
    }

    /// The integer at `key`; nil when absent. Throws when it has another type.
    public func int(_ key: String) throws -> Int64? {
        var value: Int64 = 0
        return try read(key, raw.pointee.get_int(raw, key, &value)) { value }
    }

    /// The number at `key`; nil when absent. Throws when it has another type.
    public func double(_ key: String) throws -> Double? {
        var value: Double = 0
        return try read(key, raw.pointee.get_double(raw, key, &value)) { value }
    }

    /// The boolean at `key`; nil when absent. Throws when it has another type.
    public func bool(_ key: String) throws -> Bool? {
        var value = false
        return try read(key, raw.pointee.get_bool(raw, key, &value)) { value }
    }

    /// The string array at `key` (`key.0`, `key.1`, …); empty when absent.
    public func strings(_ key: String) throws -> [String] {
        var result: [String] = []
        while let value = try string("\(key).\(result.count)") { result.append(value) }
        return result
    }

    /// The whole table as JSON.
    public var json: String { String(cString: raw.pointee.json) }

    private func read<T>(_ key: String, _ status: ph_status_t, _ value: () -> T) throws -> T? {
        switch status {
        case PH_OK: return value()
        case PH_ERR_NOT_FOUND: return nil
        default: throw PluginFailure("config key '\(key)' has the wrong type")
        }
    }
}
