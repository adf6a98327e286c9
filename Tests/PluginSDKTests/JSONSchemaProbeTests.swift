import Foundation
import PluginHTTPExtension
@testable import PluginSDK
import Testing

/// The schemas the Swift SDK derives from Codable types: what they say, and that the
/// host's check (PluginHTTPExtension's JSONSchema) accepts whatever JSONEncoder writes
/// for those types, so a derived schema never refuses a body JSONDecoder would read.
@Suite("Schemas derived from Codable types")
struct JSONSchemaProbeTests {
    enum Size: String, Codable, CaseIterable { case small, large }
    struct Item: Codable, Equatable { var name: String; var count: Int }
    struct Order: Codable, Equatable {
        var id: UUID
        var items: [Item]
        var size: Size
        var note: String?
        var placed: Date
        var price: Decimal
        var attachment: Data
        var link: URL
        var flags: [String: Bool]
        var score: Double
        var small: UInt8
    }
    /// Recursive through an optional and an array.
    final class Node: Codable { var value: Int = 0; var next: Node?; var children: [Node] = [] }

    private func schema<T: Decodable>(_ type: T.Type) throws -> [String: Any] {
        let text = try #require(JSONSchemaProbe.schema(for: type))
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
    }

    @Test("required and optional properties, nested types, arrays, enums and Foundation's JSON types")
    func derived() throws {
        let order = try schema(Order.self)
        #expect(order["type"] as? String == "object")
        let required = Set(order["required"] as? [String] ?? [])
        #expect(required == ["id", "items", "size", "placed", "price", "attachment", "link", "flags", "score", "small"])
        let properties = try #require(order["properties"] as? [String: [String: Any]])
        #expect(properties["id"]?["type"] as? String == "string")
        #expect(properties["note"]?["type"] as? [String] == ["string", "null"])
        #expect(properties["size"]?["enum"] as? [String] == ["small", "large"])
        #expect(properties["placed"]?["type"] as? String == "number")
        #expect(properties["price"]?["type"] as? String == "number")
        #expect(properties["attachment"]?["type"] as? String == "string")
        #expect(properties["small"]?["minimum"] as? Int == 0)
        let items = try #require(properties["items"]?["items"] as? [String: Any])
        #expect(items["required"] as? [String] == ["name", "count"])
        #expect(properties["flags"]?["type"] as? String == "object" && properties["flags"]?["properties"] == nil)
    }

    @Test("a recursive type stops at the probe's depth instead of looping")
    func recursive() throws {
        let node = try schema(Node.self)
        #expect(node["type"] as? String == "object")
    }

    @Test("what JSONEncoder writes for these types passes the host's check of the derived schema")
    func agreesWithTheHost() throws {
        let samples = [
            Order(id: UUID(), items: [Item(name: "tea", count: 2)], size: .large, note: nil, placed: Date(), price: Decimal(string: "12.50")!,
                  attachment: Data([0, 1, 2]), link: URL(string: "https://example.com/a")!, flags: ["gift": true], score: 0.5, small: 255),
            Order(id: UUID(), items: [], size: .small, note: "ring twice", placed: Date(timeIntervalSince1970: 0), price: 0,
                  attachment: Data(), link: URL(string: "file:///x")!, flags: [:], score: -1e300, small: 0),
        ]
        let host = try JSONSchema.compile(text: try #require(JSONSchemaProbe.schema(for: Order.self)))
        for sample in samples {
            let data = try JSONEncoder().encode(sample)
            let document = try JSONParser.parse(Array(data))
            #expect(host.violation(in: document) == nil, "\(String(decoding: data, as: UTF8.self))")
            #expect(try JSONDecoder().decode(Order.self, from: data) == sample)
        }
        // And the check does refuse what JSONDecoder would refuse.
        #expect(host.violation(in: try JSONParser.parse(#"{"id":"x"}"#)) != nil)
    }

    @Test("a type whose init(from:) the probe cannot follow gets no schema (any JSON), not a wrong one")
    func unfollowable() {
        struct Nested: Decodable {
            init(from decoder: any Decoder) throws {
                let outer = try decoder.container(keyedBy: Key.self)
                _ = try outer.nestedContainer(keyedBy: Key.self, forKey: .inner)
            }
            enum Key: CodingKey { case inner }
        }
        #expect(JSONSchemaProbe.schema(for: Nested.self) == nil)
    }
}
