/// A value from a TOML file, detached from the TOML library.
///
/// Manifests and the host config are parsed once into `ConfigValue`s; a
/// plugin's config table is handed to it as a ``PluginConfiguration`` built
/// from one.
public indirect enum ConfigValue: Hashable, Sendable {
    /// A string (TOML dates and times are kept as their text).
    case string(String)
    /// A 64-bit integer.
    case integer(Int64)
    /// A floating-point number.
    case double(Double)
    /// A boolean.
    case bool(Bool)
    /// An array.
    case array([ConfigValue])
    /// A table; keys are unique.
    case table([String: ConfigValue])

    /// The type's name as an error message says it.
    public var typeName: String {
        switch self {
        case .string: "string"
        case .integer: "integer"
        case .double: "float"
        case .bool: "boolean"
        case .array: "array"
        case .table: "table"
        }
    }

    /// The table's entries, or nil when this is not a table.
    public var table: [String: ConfigValue]? {
        if case .table(let entries) = self { return entries }
        return nil
    }

    /// The string, or nil when this is not a string.
    public var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// The array's elements, or nil when this is not an array.
    public var array: [ConfigValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// The value as JSON text (keys sorted, so the output is stable).
    public var json: String {
        switch self {
        case .string(let text): return Self.jsonQuoted(text)
        case .integer(let number): return String(number)
        case .double(let number): return number.isFinite ? "\(number)" : "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .array(let elements): return "[" + elements.map(\.json).joined(separator: ",") + "]"
        case .table(let entries):
            let members = entries.keys.sorted().map { Self.jsonQuoted($0) + ":" + entries[$0]!.json }
            return "{" + members.joined(separator: ",") + "}"
        }
    }

    /// `text` as a JSON string literal.
    public static func jsonQuoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
