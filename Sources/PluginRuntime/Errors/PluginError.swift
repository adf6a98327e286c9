public import Logging

/// A problem with one plugin or one input file: what went wrong, where, and for which alias.
///
/// Every refusal the runtime makes (a manifest that does not parse, a library
/// with the wrong ABI, a config rejected by the plugin, a failing `create`) is a
/// `PluginError`. Its ``description`` is one line that names the file, the alias
/// and the reason, ready for a log or for `plughost check`.
public struct PluginError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of problem, open for new cases without breaking users.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case invalidManifest = "invalid manifest"
            case invalidHostConfig = "invalid host config"
            case libraryNotFound = "library not found"
            case libraryOutsidePluginsFolder = "library outside plugins folder"
            case notASharedLibrary = "not a shared library"
            case loadFailed = "load failed"
            case entryNotFound = "entry symbol not found"
            case entryReturnedNull = "entry returned no descriptor"
            case abiMismatch = "ABI mismatch"
            case invalidDescriptor = "invalid descriptor"
            case configRejected = "config rejected"
            case duplicateAlias = "duplicate alias"
            case aliasNotFound = "alias not found"
            case createFailed = "create failed"
            case startFailed = "start failed"
            case registrationRefused = "registration refused"
            case endpointConflict = "endpoint conflict"
            case wrapperFailed = "wrapper failed"
            case alreadyStarted = "already started"
            case stateHandoffFailed = "state handoff failed"
            case reloadRefused = "reload refused"
            case unsafePermissions = "unsafe permissions"
            case pinMismatch = "pin mismatch"
            case signatureRefused = "signature refused"
            case quarantined = "quarantined"
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// A manifest is not valid TOML or lacks a required key.
        public static let invalidManifest = Code(.invalidManifest)
        /// The host config file is not valid TOML or has an unknown or mistyped key.
        public static let invalidHostConfig = Code(.invalidHostConfig)
        /// The library a manifest names does not exist.
        public static let libraryNotFound = Code(.libraryNotFound)
        /// The library path escapes the plugins folder (`..`, absolute path, symlink out).
        public static let libraryOutsidePluginsFolder = Code(.libraryOutsidePluginsFolder)
        /// The file is empty, not ELF, or not a shared object for this machine.
        public static let notASharedLibrary = Code(.notASharedLibrary)
        /// `dlopen` refused the library.
        public static let loadFailed = Code(.loadFailed)
        /// The library does not export the entry symbol the manifest names.
        public static let entryNotFound = Code(.entryNotFound)
        /// The entry function returned NULL.
        public static let entryReturnedNull = Code(.entryReturnedNull)
        /// The plugin was built against an ABI version this host does not speak.
        public static let abiMismatch = Code(.abiMismatch)
        /// The descriptor lacks a required function or field, or is too small.
        public static let invalidDescriptor = Code(.invalidDescriptor)
        /// The plugin's `parse_config` (or the host, for a plugin without one) refused its config.
        public static let configRejected = Code(.configRejected)
        /// Two manifests declare the same alias.
        public static let duplicateAlias = Code(.duplicateAlias)
        /// The host config enables an alias that no manifest declares.
        public static let aliasNotFound = Code(.aliasNotFound)
        /// The plugin's `create` failed.
        public static let createFailed = Code(.createFailed)
        /// The plugin's `start` failed.
        public static let startFailed = Code(.startFailed)
        /// The host refused an endpoint or wrapper the plugin registered (the plugin still loads).
        public static let registrationRefused = Code(.registrationRefused)
        /// Another plugin earlier in config order registered the same method and path.
        public static let endpointConflict = Code(.endpointConflict)
        /// A wrapper's `prepare` failed for an endpoint, which is then disabled.
        public static let wrapperFailed = Code(.wrapperFailed)
        /// ``PluginRuntime/start(strict:)`` was called on a runtime that was started before.
        public static let alreadyStarted = Code(.alreadyStarted)
        /// A plugin's `save_state` or `restore_state` failed during a reload.
        public static let stateHandoffFailed = Code(.stateHandoffFailed)
        /// A reload could not run (the runtime is not running) or was refused as a whole.
        public static let reloadRefused = Code(.reloadRefused)
        /// A file or folder (or one of its parents) could have been written by
        /// someone other than root or the host's user (`[host] strict-permissions`).
        public static let unsafePermissions = Code(.unsafePermissions)
        /// The library's SHA-256 is not the one `[pins]` names for the alias.
        public static let pinMismatch = Code(.pinMismatch)
        /// The library is unsigned while signatures are required, or its
        /// signature is invalid or made by a key that is not trusted.
        public static let signatureRefused = Code(.signatureRefused)
        /// The plugin build crashed or hung `crash-limit` times within
        /// `crash-window-s`: it is left out, and what it guarded fails closed.
        public static let quarantined = Code(.quarantined)

        /// A short name of the code, e.g. `ABI mismatch`.
        public var description: String { value.rawValue }

        /// The code whose ``description`` is `name`, or nil for a name this host does not know.
        public init?(named name: String) {
            guard let value = Value(rawValue: name) else { return nil }
            self.value = value
        }
    }

    /// The kind of problem.
    public var code: Code
    /// The file the problem is in or about (manifest, library or config), as given.
    public var file: String
    /// The plugin alias concerned, if the problem belongs to one.
    public var alias: String?
    /// What went wrong, in words for the operator.
    public var reason: String

    /// Creates an error.
    /// - Parameters:
    ///   - code: The kind of problem.
    ///   - file: The file concerned.
    ///   - alias: The alias concerned, if any.
    ///   - reason: What went wrong.
    public init(_ code: Code, file: String, alias: String? = nil, reason: String) {
        self.code = code
        self.file = file
        self.alias = alias
        self.reason = reason
    }

    /// One line: `file: alias 'x': code: reason`.
    /// The error's fields for a structured log line: `file`, `alias`, `code` and `reason`.
    public var logMetadata: Logger.Metadata {
        var fields: Logger.Metadata = ["file": .string(file), "code": .string(code.description), "reason": .string(reason)]
        if let alias { fields["alias"] = .string(alias) }
        return fields
    }

    public var description: String {
        var line = file + ": "
        if let alias { line += "alias '\(alias)': " }
        return line + "\(code): \(reason)"
    }
}

extension PluginError: Codable {
    private enum CodingKeys: String, CodingKey {
        case code, file, alias, reason
    }

    /// Decodes an error written by ``encode(to:)`` (a worker's report read by its supervisor).
    /// A code this host does not know is read as ``Code/reloadRefused``.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        code = Code(named: try container.decode(String.self, forKey: .code)) ?? .reloadRefused
        file = try container.decode(String.self, forKey: .file)
        alias = try container.decodeIfPresent(String.self, forKey: .alias)
        reason = try container.decode(String.self, forKey: .reason)
    }

    /// The error as an object: `code` (its description), `file`, `alias` (when it has one) and `reason`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(code.description, forKey: .code)
        try container.encode(file, forKey: .file)
        try container.encodeIfPresent(alias, forKey: .alias)
        try container.encode(reason, forKey: .reason)
    }
}
