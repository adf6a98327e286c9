import PluginHTTPExtension
import Testing

@Suite("The host's strict JSON reader")
struct JSONParserTests {
    @Test("well-formed documents parse, any value at the top", arguments: [
        "0", "-0", "1.5e-3", "1E+2", "true", "null", "\"\"", "[]", "{}", " [1, {\"a\": [\"b\"]}] ",
        "\"\\u00e9\\ud83d\\ude00\\n\"", "\"é😀\"", "123456789012345678901234567890",
    ])
    func wellFormed(text: String) throws {
        _ = try JSONParser.parse(text)
        try Array(text.utf8).withUnsafeBufferPointer { try JSONParser.check($0) }
    }

    @Test("malformed documents are refused with a reason and an offset", arguments: [
        ("", "empty document"), ("01", "leading zero"), ("1.", "after '.'"), ("-", "expected a digit"), ("1e", "exponent"),
        ("[1,]", "unexpected character"), ("{\"a\":1,}", "string key"), ("{\"a\" 1}", "':'"), ("[1 2]", "',' or ']'"),
        ("tru", "expected 'true'"), ("NaN", "unexpected character"), ("'a'", "unexpected character"), ("\"a", "unterminated"),
        ("\"\\x\"", "invalid escape"), ("\"\\u12\"", "four hex digits"), ("\"\\ud800\"", "high surrogate"),
        ("\"\\udc00\"", "lone low surrogate"), ("\"\t\"", "control character"), ("{\"a\":1,\"a\":2}", "duplicate key"),
        ("1 2", "after the document"), ("// c\n1", "unexpected character"),
    ])
    func malformed(text: String, reason: String) {
        #expect {
            _ = try JSONParser.parse(text)
        } throws: { error in
            "\(error)".contains(reason)
        }
    }

    @Test("bytes that are not UTF-8 are refused: overlong forms, surrogates, past U+10FFFF, cut sequences", arguments: [
        [0x22, 0xC0, 0xAF, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], [0x22, 0xE2, 0x82, 0x22], [0x22, 0xFF, 0x22],
    ] as [[UInt8]])
    func notUTF8(bytes: [UInt8]) {
        #expect(throws: JSONParser.Malformed.self) { try JSONParser.parse(bytes) }
    }

    @Test("nesting stops at 64 levels")
    func depth() throws {
        _ = try JSONParser.parse(String(repeating: "[", count: 64) + String(repeating: "]", count: 64))
        #expect(throws: JSONParser.Malformed.self) {
            try JSONParser.parse(String(repeating: "[", count: 65) + String(repeating: "]", count: 65))
        }
    }

    @Test("numbers keep their text; a document writes back as compact JSON with strings escaped")
    func roundTrip() throws {
        let value = try JSONParser.parse(#" { "big" : 18446744073709551616, "s": "a\"b\u0001" , "l":[true,null] } "#)
        #expect(value.text == #"{"big":18446744073709551616,"s":"a\"b\u0001","l":[true,null]}"#)
        #expect(value["big"]?.text == "18446744073709551616")
    }
}
