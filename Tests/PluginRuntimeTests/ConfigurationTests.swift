import CPluginABI
import PluginRuntime
import Testing

@Suite("The ph_config_t view of a plugin's config table")
struct ConfigurationTests {
    @Test("flattens tables and arrays into dotted keys and answers typed lookups")
    func typedLookups() {
        let configuration = PluginConfiguration([
            "name": .string("x"), "count": .integer(3), "ratio": .double(0.5), "on": .bool(true),
            "limits": .table(["max": .integer(9)]), "tokens": .array([.string("a"), .string("b")]),
        ])
        let raw = UnsafePointer(configuration.cView)
        #expect(configuration.keys == ["count", "limits.max", "name", "on", "ratio", "tokens.0", "tokens.1"])
        var text: UnsafePointer<CChar>?
        var length = 0
        #expect(raw.pointee.get_string(raw, "tokens.1", &text, &length) == PH_OK && String(cString: text!) == "b" && length == 1)
        var number: Int64 = 0
        #expect(raw.pointee.get_int(raw, "limits.max", &number) == PH_OK && number == 9)
        #expect(raw.pointee.get_int(raw, "name", &number) == PH_ERR_TYPE)
        #expect(raw.pointee.get_int(raw, "absent", &number) == PH_ERR_NOT_FOUND)
        var real = 0.0
        #expect(raw.pointee.get_double(raw, "count", &real) == PH_OK && real == 3)
        var flag = false
        #expect(raw.pointee.get_bool(raw, "on", &flag) == PH_OK && flag)
        #expect(raw.pointee.key_count == 7)
        #expect(String(cString: raw.pointee.key_at(raw, 0)!) == "count")
        #expect(raw.pointee.key_at(raw, 7) == nil)
        #expect(String(cString: raw.pointee.json).hasPrefix("{\"count\":3,\"limits\":{\"max\":9}"))
    }
}
