import PluginHTTPExtension
import Testing

@Suite("The JSON Schema subset the host checks")
struct JSONSchemaTests {
    private func violation(_ schema: String, _ value: String) throws -> JSONSchema.Violation? {
        try JSONSchema.compile(text: schema).violation(in: JSONParser.parse(value))
    }

    @Test("valid values pass", arguments: [
        (#"{"type":"integer"}"#, "2.0"), (#"{"type":["string","null"]}"#, "null"), (#"true"#, "[1]"), (#"{}"#, "{}"),
        (#"{"enum":[1,"a",{"b":[2]}]}"#, #"{"b":[2.0]}"#), (#"{"const":{"a":1,"b":2}}"#, #"{"b":2,"a":1}"#),
        (#"{"exclusiveMinimum":0,"exclusiveMaximum":1}"#, "0.5"), (#"{"minLength":2,"maxLength":2}"#, #""é😀""#),
        (#"{"additionalProperties":{"type":"integer"}}"#, #"{"a":1,"b":2}"#), (#"{"minimum":1}"#, #""not a number""#),
        (#"{"title":"t","description":"d","format":"email","examples":["x"],"$schema":"https://json-schema.org/draft/2020-12/schema"}"#, "1"),
    ])
    func valid(schema: String, value: String) throws {
        #expect(try violation(schema, value) == nil)
    }

    @Test("invalid values name the pointer and the reason", arguments: [
        (#"false"#, "1", "", "no value is allowed"),
        (#"{"type":"integer"}"#, "2.5", "", "expected integer, got number"),
        (#"{"properties":{"a/b":{"properties":{"c~d":{"type":"string"}}}}}"#, #"{"a/b":{"c~d":1}}"#, "/a~1b/c~0d", "expected string"),
        (#"{"items":{"maximum":3}}"#, "[1,2,4]", "/2", "more than the maximum 3"),
        (#"{"required":["x"]}"#, "{}", "/x", "required property 'x' is missing"),
        (#"{"additionalProperties":false,"properties":{"a":true}}"#, #"{"a":1,"b":2}"#, "/b", "property 'b' is not allowed"),
        (#"{"minItems":1}"#, "[]", "", "fewer than 1 items"),
        (#"{"const":"x"}"#, #""y""#, "", #"expected "x""#),
        (#"{"exclusiveMinimum":0}"#, "0", "", "must be more than 0"),
    ])
    func invalid(schema: String, value: String, pointer: String, reason: String) throws {
        let found = try #require(try violation(schema, value))
        #expect(found.pointer == pointer)
        #expect(found.reason.contains(reason), "\(found)")
    }

    @Test("schemas outside the subset, or malformed ones, are refused naming the keyword", arguments: [
        (#"{"pattern":"a"}"#, "'pattern'"), (#"{"oneOf":[]}"#, "'oneOf'"), (##"{"$ref":"#/x"}"##, "'$ref'"),
        (#"{"type":"float"}"#, "not one of"), (#"{"minLength":-1}"#, "non-negative integer"), (#"{"minimum":"1"}"#, "must be a number"),
        (#"{"properties":{"a":{"items":{"format":"x","if":{}}}}}"#, "/properties/a/items/if"), ("[]", "an object or a boolean"),
        ("{", "not JSON"),
    ])
    func refused(schema: String, reason: String) {
        #expect {
            _ = try JSONSchema.compile(text: schema)
        } throws: { error in
            "\(error)".contains(reason)
        }
    }
}
