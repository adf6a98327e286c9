#if canImport(Glibc)
import Glibc
#endif
public import CPluginABI

/// A plugin's config table as the C ABI sees it: a `ph_config_t` whose
/// strings all live as long as this object.
///
/// Keys are flattened to dotted paths (`limits.max`, `tokens.0`).
public final class PluginConfiguration: @unchecked Sendable {
    // @unchecked Sendable: everything is built in init and never mutated; the
    // C memory is freed only in deinit, when no plugin can hold the pointer.

    /// The table as parsed from the host config.
    public let table: [String: ConfigValue]
    /// Leaf keys, sorted.
    public let keys: [String]
    private let leaves: [String: ConfigValue]
    private let cKeys: [UnsafeMutablePointer<CChar>]
    private let cStrings: [String: (UnsafeMutablePointer<CChar>, Int)]
    private let cJSON: UnsafeMutablePointer<CChar>
    /// The C view handed to `parse_config` and through `ph_host_t.config`.
    let raw: UnsafeMutablePointer<ph_config_t>

    /// Builds the C view of `table`.
    public init(_ table: [String: ConfigValue]) {
        self.table = table
        var leaves: [String: ConfigValue] = [:]
        Self.flatten(.table(table), prefix: "", into: &leaves)
        self.leaves = leaves
        self.keys = leaves.keys.sorted()
        self.cKeys = keys.map { strdup($0)! }
        var strings: [String: (UnsafeMutablePointer<CChar>, Int)] = [:]
        for (key, value) in leaves {
            // Exactly the string's bytes plus a NUL: a TOML "\u0000" escape puts a NUL
            // inside the value, and the length must still describe the bytes behind the pointer.
            if case .string(let text) = value { strings[key] = (Self.exactCString(text), text.utf8.count) }
        }
        self.cStrings = strings
        let json = ConfigValue.table(table).json
        self.cJSON = strdup(json)!
        self.raw = .allocate(capacity: 1)
        raw.initialize(to: ph_config_t(
            struct_size: UInt32(MemoryLayout<ph_config_t>.size),
            reserved: 0,
            host_data: nil,
            key_count: keys.count,
            key_at: { config, index in
                guard let config else { return nil }
                let this = PluginConfiguration.from(config)
                return index < this.cKeys.count ? UnsafePointer(this.cKeys[index]) : nil
            },
            get_string: { config, key, value, length in
                guard let config, let key else { return PH_ERR_INVALID }
                let this = PluginConfiguration.from(config)
                let name = String(cString: key)
                guard let entry = this.cStrings[name] else {
                    return this.leaves[name] == nil ? PH_ERR_NOT_FOUND : PH_ERR_TYPE
                }
                value?.pointee = UnsafePointer(entry.0)
                length?.pointee = entry.1
                return PH_OK
            },
            get_int: { config, key, value in
                guard let config, let key else { return PH_ERR_INVALID }
                switch PluginConfiguration.from(config).leaves[String(cString: key)] {
                case .integer(let number)?: value?.pointee = number; return PH_OK
                case nil: return PH_ERR_NOT_FOUND
                default: return PH_ERR_TYPE
                }
            },
            get_double: { config, key, value in
                guard let config, let key else { return PH_ERR_INVALID }
                switch PluginConfiguration.from(config).leaves[String(cString: key)] {
                case .double(let number)?: value?.pointee = number; return PH_OK
                case .integer(let number)?: value?.pointee = Double(number); return PH_OK
                case nil: return PH_ERR_NOT_FOUND
                default: return PH_ERR_TYPE
                }
            },
            get_bool: { config, key, value in
                guard let config, let key else { return PH_ERR_INVALID }
                switch PluginConfiguration.from(config).leaves[String(cString: key)] {
                case .bool(let flag)?: value?.pointee = flag; return PH_OK
                case nil: return PH_ERR_NOT_FOUND
                default: return PH_ERR_TYPE
                }
            },
            json: UnsafePointer(cJSON),
            json_length: json.utf8.count
        ))
        raw.pointee.host_data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        cKeys.forEach { free($0) }
        cStrings.values.forEach { free($0.0) }
        free(cJSON)
        raw.deinitialize(count: 1)
        raw.deallocate()
    }

    private static func from(_ config: UnsafePointer<ph_config_t>) -> PluginConfiguration {
        Unmanaged<PluginConfiguration>.fromOpaque(config.pointee.host_data).takeUnretainedValue()
    }

    private static func flatten(_ value: ConfigValue, prefix: String, into leaves: inout [String: ConfigValue]) {
        switch value {
        case .table(let entries):
            for (key, child) in entries { flatten(child, prefix: prefix.isEmpty ? key : prefix + "." + key, into: &leaves) }
        case .array(let elements):
            for (index, child) in elements.enumerated() { flatten(child, prefix: prefix + "." + String(index), into: &leaves) }
        default:
            leaves[prefix] = value
        }
    }
}

extension PluginConfiguration {
    /// The `ph_config_t` view, valid as long as this object (for embedders that call plugins themselves).
    public var cView: UnsafeMutablePointer<ph_config_t> { raw }

    /// An empty config that lives for the life of the process: what a retired plugin's
    /// `ph_host_t` points at once its own config is freed (see PluginContext).
    static let retiredConfiguration = PluginConfiguration([:])
    /// ``retiredConfiguration``'s C view.
    // nonisolated(unsafe): set once, never freed, only read.
    nonisolated(unsafe) static let retired: UnsafePointer<ph_config_t> = UnsafePointer(retiredConfiguration.raw)

    /// A malloc'ed copy of `text`'s UTF-8 bytes followed by a NUL (unlike `strdup`, not cut at an embedded NUL).
    private static func exactCString(_ text: String) -> UnsafeMutablePointer<CChar> {
        let bytes = Array(text.utf8)
        let copy = malloc(bytes.count + 1)!.bindMemory(to: CChar.self, capacity: bytes.count + 1)
        bytes.withUnsafeBytes { UnsafeMutableRawPointer(copy).copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(copy), byteCount: $0.count) }
        copy[bytes.count] = 0
        return copy
    }
}
