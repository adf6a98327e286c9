#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Derives a JSON Schema from a `Decodable` type by decoding it once from a probe that
/// records what the type asks for: the properties it decodes (required unless it uses
/// `decodeIfPresent`, as synthesized conformances do for optionals), their types,
/// arrays and their element type, and string- or integer-backed `CaseIterable` enums.
///
/// The schema only says what `JSONDecoder` would refuse anyway, so the host's check and
/// the SDK's decoding agree: unknown properties are allowed, a dictionary is any object,
/// and anything the probe cannot follow (a type whose `init(from:)` checks values, or
/// uses nested containers) is left unconstrained. Declare a schema in
/// ``JSONEndpointOptions`` to say more.
enum JSONSchemaProbe {
    /// The schema of `type` as JSON text, or nil when the probe could not follow it.
    static func schema(for type: any Decodable.Type) -> String? {
        let recorder = Node()
        do {
            _ = try probe(type, into: recorder, depth: 0)
        } catch {
            return nil
        }
        return recorder.json
    }

    /// How deep the probe follows nested types (a recursive type stops here, unconstrained).
    static let maxDepth = 16

    /// Decodes a value of `type` from a probe recording into `node`.
    static func probe<T: Decodable>(_ type: T.Type, into node: Node, depth: Int) throws -> T {
        if let value = primitive(type, node) { return value }
        if let value = enumeration(type, node) { return value }
        guard depth < maxDepth else { throw ProbeLimit() }
        return try T(from: ProbeDecoder(node: node, depth: depth + 1))
    }

    /// A standard scalar type: recorded, and a placeholder value returned.
    private static func primitive<T>(_ type: T.Type, _ node: Node) -> T? {
        switch type {
        case is Bool.Type: node.kind = .type("boolean"); return false as? T
        case is String.Type: node.kind = .type("string"); return "" as? T
        case is Double.Type: node.kind = .type("number"); return 0.0 as? T
        case is Float.Type: node.kind = .type("number"); return Float(0) as? T
        case is Int.Type: node.kind = .type("integer"); return 0 as? T
        case is Int8.Type: node.kind = .type("integer"); return Int8(0) as? T
        case is Int16.Type: node.kind = .type("integer"); return Int16(0) as? T
        case is Int32.Type: node.kind = .type("integer"); return Int32(0) as? T
        case is Int64.Type: node.kind = .type("integer"); return Int64(0) as? T
        case is UInt.Type: node.kind = .type("integer", minimum: 0); return UInt(0) as? T
        case is UInt8.Type: node.kind = .type("integer", minimum: 0); return UInt8(0) as? T
        case is UInt16.Type: node.kind = .type("integer", minimum: 0); return UInt16(0) as? T
        case is UInt32.Type: node.kind = .type("integer", minimum: 0); return UInt32(0) as? T
        case is UInt64.Type: node.kind = .type("integer", minimum: 0); return UInt64(0) as? T
        // Types JSONDecoder reads its own way, not as their init(from:) asks: as it does.
        case is Data.Type: node.kind = .type("string"); return Data() as? T            // base64
        case is Date.Type: node.kind = .type("number"); return Date(timeIntervalSinceReferenceDate: 0) as? T
        case is Decimal.Type: node.kind = .type("number"); return Decimal() as? T
        case is URL.Type: node.kind = .type("string"); return URL(string: "about:blank") as? T
        case is UUID.Type: node.kind = .type("string"); return UUID() as? T
        default: return nil
        }
    }

    /// A `CaseIterable` enum backed by strings or integers: an `enum` of its raw values.
    private static func enumeration<T>(_ type: T.Type, _ node: Node) -> T? {
        guard let iterable = type as? any CaseIterable.Type else { return nil }
        func elements<C: Collection>(_ collection: C) -> [Any] { collection.map { $0 } }
        let cases = elements(iterable.allCases)
        var values: [String] = []
        for value in cases {
            guard let raw = value as? any RawRepresentable else { return nil }
            switch raw.rawValue {
            case let text as String: values.append(quoted(text))
            case let number as Int: values.append(String(number))
            default: return nil
            }
        }
        guard let first = cases.first as? T else { return nil }
        node.kind = .enumeration(values)
        return first
    }

    /// `text` as a JSON string (JSONEncoder's escaping; the SDK does not link the host's).
    static func quoted(_ text: String) -> String {
        (try? JSONEncoder().encode(text)).map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
    }

    /// The probe went as deep as it follows.
    struct ProbeLimit: Error {}

    /// What the probe learnt about one value.
    final class Node {
        enum Kind {
            case any
            case type(String, minimum: Int? = nil)
            case enumeration([String])
            case object(properties: [(String, Node)], required: [String])
            case array(Node?)
        }
        var kind = Kind.any
        var nullable = false
        /// The properties decoded as optionals (see ProbeKeyedContainer.decodeNil).
        var optionalKeys = Set<String>()

        var json: String {
            var members: [String] = []
            func type(_ name: String) -> String { nullable ? "[\(quoted(name)),\"null\"]" : quoted(name) }
            switch kind {
            case .any:
                return "{}"
            case .type(let name, let minimum):
                members.append("\"type\":" + type(name))
                if let minimum { members.append("\"minimum\":\(minimum)") }
            case .enumeration(let values):
                members.append("\"enum\":[" + (values + (nullable ? ["null"] : [])).joined(separator: ",") + "]")
            case .object(let properties, let required):
                members.append("\"type\":" + type("object"))
                if !properties.isEmpty {
                    members.append("\"properties\":{" + properties.map { quoted($0.0) + ":" + $0.1.json }.joined(separator: ",") + "}")
                }
                if !required.isEmpty { members.append("\"required\":[" + required.map(quoted).joined(separator: ",") + "]") }
            case .array(let items):
                members.append("\"type\":" + type("array"))
                if let items { members.append("\"items\":" + items.json) }
            }
            return "{" + members.joined(separator: ",") + "}"
        }
    }
}

/// The decoder the probe hands to `init(from:)`.
private struct ProbeDecoder: Decoder {
    let node: JSONSchemaProbe.Node
    let depth: Int
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        if case .object = node.kind {} else { node.kind = .object(properties: [], required: []) }
        return KeyedDecodingContainer(ProbeKeyedContainer<Key>(node: node, depth: depth))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        node.kind = .array(nil)
        return ProbeUnkeyedContainer(node: node, depth: depth)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        ProbeSingleValue(node: node, depth: depth)
    }
}

/// Records each property a type decodes.
private struct ProbeKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let node: JSONSchemaProbe.Node
    let depth: Int
    var codingPath: [any CodingKey] { [] }
    /// Unknown: a dictionary decodes no key, and its schema stays any object.
    var allKeys: [Key] { [] }

    func contains(_ key: Key) -> Bool { true }

    /// Asked only for an optional property (the default `decodeIfPresent` asks it before
    /// `decode`): the key is remembered as optional.
    func decodeNil(forKey key: Key) throws -> Bool {
        node.optionalKeys.insert(key.stringValue)
        return false
    }

    private func record<T: Decodable>(_ type: T.Type, _ key: Key, required: Bool) throws -> T {
        let required = required && !node.optionalKeys.contains(key.stringValue)
        let child = JSONSchemaProbe.Node()
        child.nullable = !required
        let value = try JSONSchemaProbe.probe(type, into: child, depth: depth)
        guard case .object(var properties, var names) = node.kind else { return value }
        properties.removeAll { $0.0 == key.stringValue }
        properties.append((key.stringValue, child))
        if required && !names.contains(key.stringValue) { names.append(key.stringValue) }
        node.kind = .object(properties: properties, required: names)
        return value
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try record(type, key, required: true) }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        do {
            _ = try record(type, key, required: false)
        } catch is JSONSchemaProbe.ProbeLimit {
            // A recursive optional: recorded as far as the probe goes, absent here.
        }
        return nil
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "nested containers are not followed by the schema probe")
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "nested containers are not followed by the schema probe")
    }

    func superDecoder() throws -> any Decoder { throw ProbeUnsupported() }
    func superDecoder(forKey key: Key) throws -> any Decoder { throw ProbeUnsupported() }
}

/// A construct the probe does not follow: the type gets no derived schema.
private struct ProbeUnsupported: Error {}

/// Records an array's element type from its first element; the array then ends.
private final class ProbeUnkeyedContainer: UnkeyedDecodingContainer {
    let node: JSONSchemaProbe.Node
    let depth: Int
    var decoded = false
    init(node: JSONSchemaProbe.Node, depth: Int) {
        self.node = node
        self.depth = depth
    }
    var codingPath: [any CodingKey] { [] }
    /// At the probe's depth an array is empty (its element type unknown): a recursive type ends there.
    var count: Int? { depth >= JSONSchemaProbe.maxDepth ? 0 : 1 }
    var isAtEnd: Bool { decoded || depth >= JSONSchemaProbe.maxDepth }
    var currentIndex: Int { decoded ? 1 : 0 }

    func decodeNil() throws -> Bool { false }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let items = JSONSchemaProbe.Node()
        decoded = true
        let value = try JSONSchemaProbe.probe(type, into: items, depth: depth)
        node.kind = .array(items)
        return value
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> { throw ProbeUnsupported() }
    func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { throw ProbeUnsupported() }
    func superDecoder() throws -> any Decoder { throw ProbeUnsupported() }
}

/// Records a single value's type (a wrapper type around a scalar, say).
private struct ProbeSingleValue: SingleValueDecodingContainer {
    let node: JSONSchemaProbe.Node
    let depth: Int
    var codingPath: [any CodingKey] { [] }
    func decodeNil() -> Bool { false }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try JSONSchemaProbe.probe(type, into: node, depth: depth) }
}
