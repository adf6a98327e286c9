/// Reads a TOML file into a ``ConfigValue`` table, with the runtime's own
/// TOML 1.0 parser (``TOMLParser``).
///
/// The parser reads every byte of the file, refuses what TOML forbids (bad
/// UTF-8, NUL and other control characters, UTF-16 text) with a line and
/// column, and cannot crash or leak on a hostile file; it keeps nothing between
/// calls, so every load parses the file again.
enum TOMLDocument {
    /// Why a TOML text could not be read: the parser's message with its line and column.
    struct ParseFailure: Error, CustomStringConvertible {
        /// The message: `line L, column C: reason` for a parse error.
        let description: String
    }

    /// Parses the bytes of a whole TOML file into its top-level table (dates and times as their text).
    static func parse(_ bytes: [UInt8]) throws(ParseFailure) -> [String: ConfigValue] {
        do {
            return try TOMLParser.parse(bytes).mapValues(\.configValue)
        } catch {
            throw ParseFailure(description: error.description)
        }
    }

    /// Parses `text` into its top-level table.
    static func parse(_ text: String) throws(ParseFailure) -> [String: ConfigValue] {
        try parse(Array(text.utf8))
    }

    /// Reads and parses the file at `path`, reporting failure as a ``PluginError`` with `code`.
    static func load(path: String, failingWith code: PluginError.Code) throws(PluginError) -> [String: ConfigValue] {
        try read(path: path, failingWith: code).document
    }

    /// Reads and parses the file at `path`, reporting failure as a ``PluginError`` with `code`.
    /// - Returns: The top-level table and the bytes it was parsed from.
    static func read(path: String, failingWith code: PluginError.Code) throws(PluginError) -> (document: [String: ConfigValue], bytes: [UInt8]) {
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.readFile(path)
        } catch {
            throw PluginError(code, file: path, reason: "not valid TOML: cannot read: \(error)")
        }
        do {
            return (try parse(bytes), bytes)
        } catch {
            throw PluginError(code, file: path, reason: "not valid TOML: \(error)")
        }
    }
}
