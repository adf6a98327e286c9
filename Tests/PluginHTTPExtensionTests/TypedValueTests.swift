import CPluginABI
@testable import PluginHTTPExtension
import Testing

@Suite("Typed parameter values parsed from request bytes")
struct TypedValueTests {
    private func parse(_ text: String, _ type: Int32) -> TypedValue? {
        try? TypedValue.parse(Array(text.utf8), as: ph_type_t(type)).get()
    }

    private func reason(_ bytes: [UInt8], _ type: Int32) -> String? {
        if case .failure(let error) = TypedValue.parse(bytes, as: ph_type_t(type)) { return error.reason }
        return nil
    }

    @Test("booleans: true, false, 1, 0 in any case; anything else refused")
    func booleans() {
        #expect(parse("TRUE", PH_TYPE_BOOL) == .bool(true) && parse("0", PH_TYPE_BOOL) == .bool(false))
        #expect(reason(Array("yes".utf8), PH_TYPE_BOOL)?.contains("expected true or false") == true)
    }

    @Test("integers: ranges are checked per type, overflow is named as such")
    func integers() {
        #expect(parse("-2147483648", PH_TYPE_INT32) == .int32(.min))
        #expect(reason(Array("2147483648".utf8), PH_TYPE_INT32)?.contains("out of range for a 32-bit integer") == true)
        #expect(parse("9223372036854775807", PH_TYPE_INT64) == .int64(.max))
        #expect(reason(Array("9223372036854775808".utf8), PH_TYPE_INT64)?.contains("out of range for a 64-bit integer") == true)
        #expect(parse("18446744073709551615", PH_TYPE_UINT64) == .uint64(.max))
        #expect(reason(Array("-1".utf8), PH_TYPE_UINT64) != nil)
        #expect(reason(Array("12a".utf8), PH_TYPE_INT64)?.contains("expected an integer") == true)
        #expect(reason([], PH_TYPE_INT64) != nil)
    }

    @Test("doubles must be finite")
    func doubles() {
        #expect(parse("0.25", PH_TYPE_DOUBLE) == .double(0.25))
        #expect(reason(Array("inf".utf8), PH_TYPE_DOUBLE) != nil && reason(Array("nan".utf8), PH_TYPE_DOUBLE) != nil)
    }

    @Test("strings must be UTF-8 without NUL (C receives them NUL-terminated); bytes take anything")
    func stringsAndBytes() {
        #expect(parse("héllo", PH_TYPE_STRING) == .string("héllo"))
        #expect(reason([0x61, 0, 0x62], PH_TYPE_STRING)?.contains("NUL") == true)
        #expect(reason([0xFF], PH_TYPE_STRING)?.contains("UTF-8") == true)
        #expect((try? TypedValue.parse([0, 0xFF], as: ph_type_t(PH_TYPE_BYTES)).get()) == .bytes([0, 0xFF]))
    }

    @Test("integer results are written as the same JSON text as their description", arguments: [
        TypedValue.int64(.min), .int64(-1), .int64(0), .int64(42), .int64(.max), .int32(.min), .int32(.max), .uint64(.max), .uint64(0),
    ])
    func integerJSON(value: TypedValue) {
        #expect(value.jsonBytes == Array(value.json.utf8))
    }
}
