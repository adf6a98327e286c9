import CSharedCache

extension HostConfig {
    /// The keys the runtime's own `[host]` accepts; layers above it declare theirs (``declare(layer:keys:check:)``).
    static let hostKeys = [
        "namespaces", "enabled", "cache-entries", "drain-timeout-ms", "strict-permissions", "trusted-keys",
        "require-signatures", "require-pins", "state-dir", "max-retained-images",
        "crash-limit", "crash-window-s", "lifecycle-timeout-ms", "worker-stall-ms", "start-attempts", "cache-bytes", "cache-bytes-per-plugin",
    ]

    /// Applies one `[host]` key, or throws an error naming the key and what it expects.
    mutating func setHostKey(_ key: String, _ value: ConfigValue, fail: (String, String?) -> PluginError) throws(PluginError) {
        func flag() throws(PluginError) -> Bool {
            guard case .bool(let flag) = value else { throw fail("host.\(key) must be true or false, found \(value.json)", nil) }
            return flag
        }
        func milliseconds() throws(PluginError) -> Duration {
            guard case .integer(let count) = value, count > 0 else {
                throw fail("host.\(key) must be a positive integer, found \(value.json)", nil)
            }
            return .milliseconds(count)
        }
        func count(atLeast low: Int, atMost high: Int = Int(Int32.max)) throws(PluginError) -> Int {
            guard case .integer(let count) = value, count >= Int64(low), count <= Int64(high) else {
                throw fail("host.\(key) must be an integer from \(low) to \(high), found \(value.json)", nil)
            }
            return Int(count)
        }
        switch key {
        case "namespaces":
            namespaces = try Self.stringList(value, key: "host.namespaces", fail: fail)
            if namespaces.isEmpty { throw fail("host.namespaces must name at least one namespace", nil) }
        case "enabled":
            let aliases = try Self.stringList(value, key: "host.enabled", fail: fail)
            var seen = Set<String>()
            for alias in aliases where !seen.insert(alias).inserted {
                throw fail("host.enabled lists '\(alias)' twice", alias)
            }
            enabled = aliases
        case "cache-entries":
            guard case .integer(let count) = value, count >= 0 else {
                throw fail("host.cache-entries must be a non-negative integer, found \(value.json)", nil)
            }
            cacheEntriesPerPlugin = Int(count)
        case "drain-timeout-ms":
            drainTimeout = try milliseconds()
        case "crash-limit":
            crashLimit = try count(atLeast: 1)
        case "crash-window-s":
            crashWindowSeconds = try count(atLeast: 1)
        case "lifecycle-timeout-ms":
            lifecycleTimeout = try milliseconds()
        case "worker-stall-ms":
            workerStall = try milliseconds()
        case "start-attempts":
            startAttempts = try count(atLeast: 1, atMost: 1000)
        case "cache-bytes":
            cacheBytes = try count(atLeast: Int(PH_SHARED_CACHE_MIN_BYTES), atMost: 1 << 34)
        case "cache-bytes-per-plugin":
            cacheBytesPerPlugin = try count(atLeast: 0, atMost: 1 << 34)
        case "max-retained-images":
            guard case .integer(let count) = value, count >= 1 else {
                throw fail("host.max-retained-images must be a positive integer, found \(value.json)", nil)
            }
            maxRetainedImages = Int(count)
        case "strict-permissions":
            strictPermissions = try flag()
        case "require-signatures":
            requireSignatures = try flag()
        case "require-pins":
            requirePins = try flag()
        case "trusted-keys":
            trustedKeys = []
            for text in try Self.stringList(value, key: "host.trusted-keys", fail: fail) {
                guard let publicKey = SigningKey.Public(parsing: text) else {
                    throw fail("host.trusted-keys: '\(text)' is not \"ed25519:\" followed by a base64 public key of 32 bytes (see `plughost keygen`)", nil)
                }
                trustedKeys.append(publicKey)
            }
        case "state-dir":
            guard let folder = value.string, folder.hasPrefix("/") else {
                throw fail("host.state-dir must be an absolute path, found \(value.json)", nil)
            }
            stateDirectory = folder
        default:
            guard let declared = HostKeyRegistry.key(named: key) else {
                let known = (Self.hostKeys + HostKeyRegistry.names).joined(separator: ", ")
                throw fail("unknown key 'host.\(key)' (known: \(known))", nil)
            }
            if let reason = declared.check(value) { throw fail("host.\(key) \(reason)", nil) }
            layerSettings[key] = HostSetting(value)
        }
    }
}
