/// A plugin manifest: a TOML file naming a package and its entry points by namespace.
///
/// ```toml
/// [plugin]
/// name = "audit"
/// version = "1.0.0"
/// [entry-points."plughost.plugins"]
/// audit = "libaudit.so:audit_entry"
/// ```
public struct PluginManifest: Sendable {
    /// The manifest file.
    public var path: String
    /// `[plugin] name`.
    public var name: String
    /// `[plugin] version`.
    public var version: String
    /// Every well-formed entry point, sorted by namespace then alias.
    public var entryPoints: [EntryPoint]
    /// Entry lines that were malformed; the rest of the manifest still counts.
    public var problems: [PluginError]

    /// Reads and validates the manifest at `path`.
    /// - Throws: ``PluginError`` with code ``PluginError/Code/invalidManifest``
    ///   when the file is not TOML or lacks `[plugin]` or `[entry-points]`.
    public static func load(path: String) throws(PluginError) -> PluginManifest {
        let document = try TOMLDocument.load(path: path, failingWith: .invalidManifest)
        return try parse(document, path: path)
    }

    /// Validates an already parsed manifest document.
    static func parse(_ document: [String: ConfigValue], path: String) throws(PluginError) -> PluginManifest {
        func fail(_ reason: String) -> PluginError { PluginError(.invalidManifest, file: path, reason: reason) }

        for key in document.keys.sorted() where key != "plugin" && key != "entry-points" {
            throw fail("unknown top-level key '\(key)' (expected [plugin] and [entry-points])")
        }
        guard let plugin = document["plugin"]?.table else { throw fail("missing [plugin] table") }
        guard let name = plugin["name"]?.string, !name.isEmpty else { throw fail("[plugin] needs a non-empty string 'name'") }
        guard let version = plugin["version"]?.string, !version.isEmpty else { throw fail("[plugin] needs a non-empty string 'version'") }
        guard let namespaces = document["entry-points"]?.table, !namespaces.isEmpty else {
            throw fail("missing [entry-points.\"NAMESPACE\"] table with at least one alias")
        }

        var entries: [EntryPoint] = []
        var problems: [PluginError] = []
        for namespace in namespaces.keys.sorted() {
            guard let aliases = namespaces[namespace]?.table else {
                throw fail("entry-points.\"\(namespace)\" must be a table of alias = \"LIBRARY:SYMBOL\"")
            }
            for alias in aliases.keys.sorted() {
                let value = aliases[alias]!
                switch parseTarget(value) {
                case .success(let (library, symbol)) where isValidAlias(alias):
                    entries.append(EntryPoint(
                        namespace: namespace, alias: alias, manifestPath: path,
                        packageName: name, packageVersion: version, library: library, symbol: symbol))
                case .success:
                    problems.append(PluginError(.invalidManifest, file: path, alias: alias,
                                                reason: "alias may use only letters, digits, '-' and '_'"))
                case .failure(let reason):
                    problems.append(PluginError(.invalidManifest, file: path, alias: alias, reason: reason.text))
                }
            }
        }
        return PluginManifest(path: path, name: name, version: version, entryPoints: entries, problems: problems)
    }

    private struct TargetProblem: Error { let text: String }

    private static func parseTarget(_ value: ConfigValue) -> Result<(String, String), TargetProblem> {
        guard let text = value.string else {
            return .failure(TargetProblem(text: "expected \"LIBRARY:SYMBOL\", found a \(value.typeName)"))
        }
        guard let colon = text.lastIndex(of: ":") else {
            return .failure(TargetProblem(text: "expected \"LIBRARY:SYMBOL\", found \"\(text)\""))
        }
        let library = String(text[..<colon])
        let symbol = String(text[text.index(after: colon)...])
        guard !library.isEmpty else { return .failure(TargetProblem(text: "empty library in \"\(text)\"")) }
        guard isCIdentifier(symbol) else {
            return .failure(TargetProblem(text: "entry symbol '\(symbol)' is not a C identifier"))
        }
        return .success((library, symbol))
    }

    /// Whether `alias` is a valid alias: `[A-Za-z0-9_-]+`.
    static func isValidAlias(_ alias: String) -> Bool {
        !alias.isEmpty && alias.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }

    private static func isCIdentifier(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(first >= 0x30 && first <= 0x39) else { return false }
        return name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "_")
        }
    }
}
