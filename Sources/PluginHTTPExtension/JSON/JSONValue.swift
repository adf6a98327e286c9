import PluginRuntime

/// A JSON document as the host reads it: request bodies, plugins' results and
/// schemas, and the OpenAPI document it writes.
///
/// Numbers keep the text they were written with (so an integer past 2^53 is
/// handed on exactly) next to their `Double` value (what schemas compare).
public enum JSONValue: Sendable, Equatable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number: its JSON text and its value.
    case number(JSONNumber)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object, its members in document order (keys are unique: the parser refuses duplicates).
    case object([JSONMember])

    /// The member `key` of an object (nil for other values or an absent key).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// The JSON type name ("object", "array", "string", "number", "boolean", "null"), for messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number(let number): number.isInteger ? "integer" : "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// Equality as JSON Schema's `enum` and `const` mean it: numbers by value, objects
    /// whatever their member order.
    public func isSameValue(as other: JSONValue) -> Bool {
        switch (self, other) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a), .number(let b)): a.value == b.value
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.isSameValue(as: $1) }
        case (.object(let a), .object(let b)):
            a.count == b.count && a.allSatisfy { member in b.contains { $0.key == member.key && $0.value.isSameValue(as: member.value) } }
        default: false
        }
    }
}

/// One member of a JSON object.
public struct JSONMember: Sendable, Equatable {
    /// Its key.
    public let key: String
    /// Its value.
    public let value: JSONValue

    /// A member `key: value`.
    public init(_ key: String, _ value: JSONValue) {
        self.key = key
        self.value = value
    }
}

/// A JSON number: the text it was written with and its value as a `Double`.
public struct JSONNumber: Sendable, Equatable {
    /// The number's JSON text, e.g. `-12`, `0.5`, `1e300`.
    public let text: String
    /// Its value (rounded to the nearest `Double`).
    public let value: Double

    /// A number from well-formed JSON number text.
    init(text: String) {
        self.text = text
        self.value = Double(text) ?? .nan
    }

    /// An integer.
    public init(_ integer: Int) {
        text = String(integer)
        value = Double(integer)
    }

    /// A finite double (written in its shortest round-trip form).
    public init(_ double: Double) {
        text = double.isFinite ? (double == double.rounded() && abs(double) < 1e15 ? String(Int64(double)) : "\(double)") : "null"
        value = double
    }

    /// Whether the value has no fractional part (JSON Schema's `integer`: `2.0` is one).
    public var isInteger: Bool { value.isFinite && value == value.rounded(.towardZero) }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral {
    /// A string value.
    public init(stringLiteral value: String) { self = .string(value) }
    /// A boolean value.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An integer value.
    public init(integerLiteral value: Int) { self = .number(JSONNumber(value)) }
}

extension JSONValue {
    /// The document as compact JSON text.
    public var text: String {
        var output: [UInt8] = []
        write(to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// Appends the document as compact JSON to `output`.
    public func write(to output: inout [UInt8]) {
        switch self {
        case .null: output.append(contentsOf: "null".utf8)
        case .bool(let flag): output.append(contentsOf: (flag ? "true" : "false").utf8)
        case .number(let number): output.append(contentsOf: number.text.utf8)
        case .string(let text): JSONValue.writeString(text, to: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                element.write(to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            for (index, member) in members.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                JSONValue.writeString(member.key, to: &output)
                output.append(UInt8(ascii: ":"))
                member.value.write(to: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    /// Appends `text` as a JSON string, escaped as every JSON text the host writes (`ConfigValue.jsonQuoted`).
    static func writeString(_ text: String, to output: inout [UInt8]) {
        output.append(contentsOf: ConfigValue.jsonQuoted(text).utf8)
    }
}
