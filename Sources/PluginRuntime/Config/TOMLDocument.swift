import Synchronization
import TOMLKit

/// Reads a TOML file into a ``ConfigValue`` table.
///
/// Files are parsed again only when their bytes changed: a reload rescans
/// every manifest, and TOMLKit never frees what its C++ parser allocates
/// (LebJe/TOMLKit#26, about 2 KiB per manifest), so re-parsing unchanged files
/// would leak on every reload.
enum TOMLDocument {
    /// Why a TOML text could not be read: the parser's message with its line.
    struct ParseFailure: Error, CustomStringConvertible {
        /// The parser's message, with line and column.
        let description: String
    }

    /// Parses `text` into its top-level table.
    static func parse(_ text: String) throws(ParseFailure) -> [String: ConfigValue] {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ParseFailure(description: "\(error.description) at line \(error.source.begin.line), column \(error.source.begin.column)")
        } catch {
            throw ParseFailure(description: "\(error)")
        }
        return convert(table)
    }

    /// Reads and parses the file at `path`, reporting failure as a ``PluginError`` with `code`.
    static func load(path: String, failingWith code: PluginError.Code) throws(PluginError) -> [String: ConfigValue] {
        do {
            return try load(path: path)
        } catch {
            throw PluginError(code, file: path, reason: "not valid TOML: \(error)")
        }
    }

    /// Reads and parses the file at `path` (from the cache when its bytes are the ones parsed last time).
    static func load(path: String) throws(ParseFailure) -> [String: ConfigValue] {
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.readFile(path)
        } catch {
            throw ParseFailure(description: "cannot read: \(error)")
        }
        if let cached = parsed.withLock({ $0[path] }), cached.bytes == bytes { return try cached.result.get() }
        let result: Result<[String: ConfigValue], ParseFailure>
        if let text = String(validating: bytes, as: UTF8.self) {
            result = Result { () throws(ParseFailure) in try parse(text) }
        } else {
            result = .failure(ParseFailure(description: "not UTF-8 text"))
        }
        parsed.withLock { $0[path] = (bytes, result) }
        return try result.get()
    }

    /// The last parse of each file read, with the bytes it parsed.
    private static let parsed = Mutex<[String: (bytes: [UInt8], result: Result<[String: ConfigValue], ParseFailure>)]>([:])

    private static func convert(_ table: TOMLTable) -> [String: ConfigValue] {
        var entries: [String: ConfigValue] = [:]
        for key in table.keys {
            if let value = table[key] { entries[key] = convert(value) }
        }
        return entries
    }

    private static func convert(_ value: any TOMLValueConvertible) -> ConfigValue {
        switch value.type {
        case .table: return .table(convert(value.table!))
        case .array: return .array(value.array!.map { convert($0) })
        case .string: return .string(value.string!)
        case .int: return .integer(Int64(value.int!))
        case .double: return .double(value.double!)
        case .bool: return .bool(value.bool!)
        case .date, .time, .dateTime: return .string(value.tomlValue.debugDescription)
        }
    }
}
