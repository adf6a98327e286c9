/// The subset of JSON Schema (2020-12) the host checks request bodies and typed
/// results against, compiled once when a plugin registers the endpoint.
///
/// Checked: `type` (a name or a list of object, array, string, number, integer,
/// boolean, null), `properties`, `required`, `additionalProperties` (false or a
/// schema), `items`, `enum`, `const`, `minimum`, `maximum`, `exclusiveMinimum`,
/// `exclusiveMaximum`, `minLength`, `maxLength` (counted in Unicode scalars),
/// `minItems`, `maxItems`; a schema may also be `true` or `false`.
/// Kept for the OpenAPI document and not checked: the ``annotations``.
/// Any other keyword is refused when the schema is compiled, so a schema never
/// means less than its author thought.
public final class JSONSchema: Sendable {
    /// Keywords kept as written and never checked.
    public static let annotations: Set<String> = ["title", "description", "default", "examples", "format", "$schema", "$id", "$comment", "deprecated", "readOnly", "writeOnly"]
    /// Keywords the host checks.
    public static let checked: Set<String> = ["type", "properties", "required", "additionalProperties", "items", "enum", "const",
                                              "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                                              "minLength", "maxLength", "minItems", "maxItems"]

    /// Why a schema cannot be used: the keyword's location and the reason.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        /// A JSON Pointer into the schema.
        public let pointer: String
        /// In words.
        public let reason: String
        /// "at POINTER: REASON".
        public var description: String { "at \(pointer.isEmpty ? "/" : pointer): \(reason)" }
    }

    /// Where a value broke the schema: a JSON Pointer into the value, and why.
    public struct Violation: Sendable, Equatable, CustomStringConvertible {
        /// A JSON Pointer into the checked document ("" for the whole of it).
        public let pointer: String
        /// In words.
        public let reason: String
        /// "at POINTER: REASON".
        public var description: String { "at \(pointer.isEmpty ? "/" : pointer): \(reason)" }
    }

    private enum Additional: Sendable {
        case allowed
        case schema(JSONSchema)
    }

    /// The schema as written (what the OpenAPI document shows).
    public let document: JSONValue
    private let acceptsNothing: Bool
    private let types: Set<String>?
    private let properties: [(String, JSONSchema)]
    private let required: [String]
    private let additional: Additional
    private let items: JSONSchema?
    private let enumValues: [JSONValue]?
    private let constValue: JSONValue?
    private let minimum, maximum, exclusiveMinimum, exclusiveMaximum: Double?
    private let minLength, maxLength, minItems, maxItems: Int?

    /// Compiles JSON text into a schema.
    public static func compile(text: String) throws(Refusal) -> JSONSchema {
        let document: JSONValue
        do throws(JSONParser.Malformed) { document = try JSONParser.parse(text) } catch {
            throw Refusal(pointer: "", reason: "the schema is not JSON: \(error)")
        }
        return try JSONSchema(document, at: "")
    }

    /// Compiles a parsed schema; `pointer` locates it in its document, for refusals.
    public init(_ document: JSONValue, at pointer: String = "") throws(Refusal) {
        self.document = document
        func refuse(_ keyword: String, _ reason: String) -> Refusal { Refusal(pointer: pointer + "/" + JSONSchema.escaped(keyword), reason: reason) }
        var types: Set<String>?
        var properties: [(String, JSONSchema)] = []
        var required: [String] = []
        var additional = Additional.allowed
        var items: JSONSchema?
        var enumValues: [JSONValue]?
        var constValue: JSONValue?
        var bounds: [String: Double] = [:]
        var counts: [String: Int] = [:]
        var acceptsNothing = false
        switch document {
        case .bool(let flag):
            acceptsNothing = !flag
        case .object(let members):
            for member in members {
                let keyword = member.key
                switch keyword {
                case "type":
                    let names: [JSONValue]
                    switch member.value {
                    case .string: names = [member.value]
                    case .array(let list) where !list.isEmpty: names = list
                    default: throw refuse(keyword, "must be a type name or a non-empty list of them")
                    }
                    var set = Set<String>()
                    for name in names {
                        guard case .string(let text) = name, Self.typeNames.contains(text) else {
                            throw refuse(keyword, "\(name.text) is not one of \(Self.typeNames.sorted().joined(separator: ", "))")
                        }
                        set.insert(text)
                    }
                    types = set
                case "properties":
                    guard case .object(let schemas) = member.value else { throw refuse(keyword, "must be an object of schemas") }
                    for property in schemas {
                        properties.append((property.key, try JSONSchema(property.value, at: pointer + "/properties/" + Self.escaped(property.key))))
                    }
                case "required":
                    guard case .array(let names) = member.value else { throw refuse(keyword, "must be a list of property names") }
                    for name in names {
                        guard case .string(let text) = name else { throw refuse(keyword, "must be a list of property names") }
                        required.append(text)
                    }
                case "additionalProperties":
                    additional = .schema(try JSONSchema(member.value, at: pointer + "/additionalProperties"))
                case "items":
                    items = try JSONSchema(member.value, at: pointer + "/items")
                case "enum":
                    guard case .array(let values) = member.value else { throw refuse(keyword, "must be a list of values") }
                    enumValues = values
                case "const":
                    constValue = member.value
                case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum":
                    guard case .number(let number) = member.value, number.value.isFinite else { throw refuse(keyword, "must be a number") }
                    bounds[keyword] = number.value
                case "minLength", "maxLength", "minItems", "maxItems":
                    guard case .number(let number) = member.value, number.isInteger, number.value >= 0, number.value < 1e15 else {
                        throw refuse(keyword, "must be a non-negative integer")
                    }
                    counts[keyword] = Int(number.value)
                default:
                    guard Self.annotations.contains(keyword) else {
                        throw refuse(keyword, "keyword '\(keyword)' is not in the subset the host checks (\(Self.checked.sorted().joined(separator: ", ")); annotations: \(Self.annotations.sorted().joined(separator: ", ")))")
                    }
                }
            }
        default:
            throw Refusal(pointer: pointer, reason: "a schema must be an object or a boolean, not \(document.typeName)")
        }
        self.acceptsNothing = acceptsNothing
        self.types = types
        self.properties = properties
        self.required = required
        self.additional = additional
        self.items = items
        self.enumValues = enumValues
        self.constValue = constValue
        minimum = bounds["minimum"]
        maximum = bounds["maximum"]
        exclusiveMinimum = bounds["exclusiveMinimum"]
        exclusiveMaximum = bounds["exclusiveMaximum"]
        minLength = counts["minLength"]
        maxLength = counts["maxLength"]
        minItems = counts["minItems"]
        maxItems = counts["maxItems"]
    }

    private static let typeNames: Set<String> = ["object", "array", "string", "number", "integer", "boolean", "null"]

    /// A JSON Pointer reference token: `~` as `~0`, `/` as `~1`.
    static func escaped(_ token: String) -> String {
        var escaped = ""
        for character in token {
            switch character {
            case "~": escaped += "~0"
            case "/": escaped += "~1"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// The first place `value` breaks the schema, or nil when it is valid.
    public func violation(in value: JSONValue, at pointer: String = "") -> Violation? {
        func broken(_ reason: String) -> Violation { Violation(pointer: pointer, reason: reason) }
        if acceptsNothing { return broken("no value is allowed here") }
        if let types, !matches(value, types) {
            return broken("expected \(types.sorted().joined(separator: " or ")), got \(value.typeName)")
        }
        if let constValue, !value.isSameValue(as: constValue) { return broken("expected \(constValue.text)") }
        if let enumValues, !enumValues.contains(where: { value.isSameValue(as: $0) }) {
            return broken("expected one of \(JSONValue.array(enumValues).text)")
        }
        switch value {
        case .number(let number):
            let x = number.value
            if let minimum, x < minimum { return broken("\(number.text) is less than the minimum \(JSONNumber(minimum).text)") }
            if let maximum, x > maximum { return broken("\(number.text) is more than the maximum \(JSONNumber(maximum).text)") }
            if let exclusiveMinimum, x <= exclusiveMinimum { return broken("\(number.text) must be more than \(JSONNumber(exclusiveMinimum).text)") }
            if let exclusiveMaximum, x >= exclusiveMaximum { return broken("\(number.text) must be less than \(JSONNumber(exclusiveMaximum).text)") }
        case .string(let text):
            if minLength != nil || maxLength != nil {
                let length = text.unicodeScalars.count
                if let minLength, length < minLength { return broken("shorter than \(minLength) characters") }
                if let maxLength, length > maxLength { return broken("longer than \(maxLength) characters") }
            }
        case .array(let elements):
            if let minItems, elements.count < minItems { return broken("fewer than \(minItems) items") }
            if let maxItems, elements.count > maxItems { return broken("more than \(maxItems) items") }
            if let items {
                for (index, element) in elements.enumerated() {
                    if let violation = items.violation(in: element, at: pointer + "/\(index)") { return violation }
                }
            }
        case .object(let members):
            for name in required where !members.contains(where: { $0.key == name }) {
                return Violation(pointer: pointer + "/" + Self.escaped(name), reason: "required property '\(name)' is missing")
            }
            for member in members {
                let path = pointer + "/" + Self.escaped(member.key)
                if let schema = properties.first(where: { $0.0 == member.key })?.1 {
                    if let violation = schema.violation(in: member.value, at: path) { return violation }
                } else if case .schema(let schema) = additional {
                    if schema.acceptsNothing { return Violation(pointer: path, reason: "property '\(member.key)' is not allowed") }
                    if let violation = schema.violation(in: member.value, at: path) { return violation }
                }
            }
        default:
            break
        }
        return nil
    }

    private func matches(_ value: JSONValue, _ types: Set<String>) -> Bool {
        switch value {
        case .null: types.contains("null")
        case .bool: types.contains("boolean")
        case .number(let number): types.contains("number") || (types.contains("integer") && number.isInteger)
        case .string: types.contains("string")
        case .array: types.contains("array")
        case .object: types.contains("object")
        }
    }
}
