import Foundation
@testable import PluginRuntime
import PluginHTTPExtension
import Testing

/// A text the parser must refuse, and where it must say the fault is.
struct TOMLRefusal: CustomTestStringConvertible, Sendable {
    let text: String
    let line: Int
    let column: Int
    /// Words the reason must contain.
    let reason: String

    var testDescription: String { text.debugDescription }
}

/// A document that the redefinition rules accept or refuse.
struct TOMLRedefinition: CustomTestStringConvertible, Sendable {
    let name: String
    let text: String
    let accepted: Bool

    var testDescription: String { name }
}

@Suite("TOML parser: TOML 1.0.0 in pure Swift; every input is parsed or refused with a line and column, never a crash")
struct TOMLParserTests {
    /// The parse of `text`'s UTF-8 bytes.
    static func parse(_ text: String) throws(TOMLParseError) -> [String: TOMLValue] {
        try TOMLParser.parse(Array(text.utf8))
    }

    /// The error for `bytes`, or nil when they parse.
    static func refusal(_ bytes: [UInt8]) -> TOMLParseError? {
        do {
            _ = try TOMLParser.parse(bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test("inputs that made toml++ abort the process are refused with a line and column", arguments: [
        TOMLRefusal(text: "[\n", line: 1, column: 2, reason: "expected a key, found a newline"),  // key/single-open-bracket, table/no-close-04
        TOMLRefusal(text: "[", line: 1, column: 2, reason: "expected a key, found end of file"),
        TOMLRefusal(text: "[[[1]]]", line: 1, column: 3, reason: "expected a key, found '['"),
        TOMLRefusal(text: "[[=", line: 1, column: 3, reason: "expected a key, found '='"),
        TOMLRefusal(text: "[!]\nk = 123\n", line: 1, column: 2, reason: "found '!'"),  // table/bare-invalid-character-01
        TOMLRefusal(text: "[.]\nk = 1\n", line: 1, column: 2, reason: "found '.'"),  // table/dot
        TOMLRefusal(text: "[..]\nk = 1\n", line: 1, column: 2, reason: "found '.'"),  // table/dotdot
        TOMLRefusal(text: "ok = 1\n[a.\n", line: 2, column: 4, reason: "expected a key after '.'"),
        // Found by `make fuzz` while TOMLKit was still the parser (it aborted on each):
        TOMLRefusal(text: "[{", line: 1, column: 2, reason: "found '{'"),
        TOMLRefusal(text: "[[!", line: 1, column: 3, reason: "found '!'"),
        TOMLRefusal(text: "a=1980-05-27T:", line: 1, column: 3, reason: "is not a valid time"),
    ])
    func abortingInputsAreRefused(_ input: TOMLRefusal) {
        let error = Self.refusal(Array(input.text.utf8))
        #expect(error?.line == input.line && error?.column == input.column)
        #expect(error?.reason.contains(input.reason) == true, "\(String(describing: error))")
    }

    @Test("a NUL byte after a valid line is refused, not taken as the end of the text")
    func nulByteIsRefused() {
        let error = Self.refusal(Array("a = 1\n".utf8) + [0] + Array("b = 2\n".utf8))
        #expect(error == TOMLParseError(line: 2, column: 1, reason: "NUL byte (U+0000) is not allowed in TOML"))
        #expect(Self.refusal(Array("a = \"x".utf8) + [0] + Array("y\"\n".utf8))?.column == 7)
        #expect(Self.refusal(Array("a = 1 # note".utf8) + [0])?.column == 13)
    }

    @Test("UTF-16 text is refused, with or without a byte order mark")
    func utf16IsRefused() {
        let littleEndian = Array("a = 1\n".utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] })
        let bigEndian = Array("a = 1\n".utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] })
        #expect(Self.refusal([0xFF, 0xFE] + littleEndian)?.reason.contains("UTF-16") == true)
        #expect(Self.refusal([0xFE, 0xFF] + bigEndian)?.reason.contains("UTF-16") == true)
        #expect(Self.refusal(littleEndian)?.reason.contains("UTF-16") == true)
        #expect(Self.refusal(bigEndian)?.reason.contains("UTF-16") == true)
    }

    @Test("broken UTF-8 and the control characters TOML forbids are refused where they are")
    func encodingIsChecked() {
        let cases: [([UInt8], Int, String)] = [
            (Array("a = \"".utf8) + [0xC3, 0x28] + Array("\"".utf8), 6, "invalid UTF-8 byte 0xC3"),
            (Array("# ".utf8) + [0xED, 0xA0, 0x80], 3, "invalid UTF-8 byte 0xED"),  // a surrogate
            (Array("# ".utf8) + [0xC0, 0x80], 3, "invalid UTF-8 byte 0xC0"),  // overlong
            (Array("# ".utf8) + [0xF4, 0x90, 0x80, 0x80], 3, "invalid UTF-8 byte 0xF4"),  // above U+10FFFF
            (Array("a = 1\r# x".utf8), 6, "carriage return not followed by a line feed"),
            (Array("a = 'x\u{7F}'".utf8), 7, "U+007F"),
            (Array("a = 1\u{0C}".utf8), 6, "U+000C"),
        ]
        for (bytes, column, reason) in cases {
            let error = Self.refusal(bytes)
            #expect(error?.line == 1 && error?.column == column && error?.reason.contains(reason) == true, "\(bytes): \(String(describing: error))")
        }
    }

    @Test("a leading UTF-8 byte order mark is skipped (as toml-test expects); anywhere else it is refused")
    func byteOrderMark() throws {
        #expect(try TOMLParser.parse([0xEF, 0xBB, 0xBF] + Array("a = 1".utf8)) == ["a": .integer(1)])
        #expect(Self.refusal([0xEF, 0xBB, 0xBF] + Array("a = 1\nb = ?".utf8)) == TOMLParseError(line: 2, column: 5, reason: "expected a value, found '?'"))
        #expect(Self.refusal(Array("a = \u{FEFF}1".utf8))?.reason == "expected a value, found U+FEFF")
    }

    @Test("nesting deeper than 128 levels is refused, even 1 MB deep, without exhausting the stack")
    func deepNestingIsRefused() throws {
        let tooDeep = "tables nested more than 128 levels deep"
        #expect(Self.refusal(Array(("a = " + String(repeating: "[", count: 1_000_000)).utf8))?.reason.contains(tooDeep) == true)
        #expect(Self.refusal(Array(("a = " + String(repeating: "{b = ", count: 200_000)).utf8))?.reason.contains(tooDeep) == true)
        #expect(Self.refusal(Array((String(repeating: "a.", count: 500_000) + "b = 1").utf8))?.reason == tooDeep)
        #expect(Self.refusal(Array(("[" + String(repeating: "a.", count: 500_000) + "b]").utf8))?.column == 258)
        #expect(Self.refusal(Array(String(repeating: "[", count: 1_000_000).utf8))?.column == 3)
        let deepest = try Self.parse("a = " + String(repeating: "[", count: 127) + String(repeating: "]", count: 127))
        var value = deepest["a"]
        var depth = 0
        while case .array(let elements)? = value {
            depth += 1
            value = elements.first
        }
        #expect(depth == 127)
    }

    @Test("strings: basic, literal, both multi-line kinds, escapes and line-ending backslashes")
    func strings() throws {
        let table = try Self.parse(#"""
            basic = "tab\there \"q\" \\ \u00E9 \U0001F600 \b\f\r\n"
            literal = 'C:\path\n'
            multi = """
            one
            two \
                three "" ""\"""""
            raw = '''
            it's ''quoted'' '''''
            crlf = """a\#r\#nb"""
            "quoted key" = ""
            """#)
        #expect(table["basic"] == .string("tab\there \"q\" \\ é 😀 \u{8}\u{C}\r\n"))
        #expect(table["literal"] == .string(#"C:\path\n"#))
        #expect(table["multi"] == .string("one\ntwo three \"\" \"\"\"\""))
        #expect(table["raw"] == .string("it's ''quoted'' ''"))
        #expect(table["crlf"] == .string("a\nb"))
        #expect(table["quoted key"] == .string(""))
        #expect(Self.refusal(Array(#"a = "\uD800""#.utf8))?.reason.contains("not a Unicode scalar value") == true)
        #expect(Self.refusal(Array(#"a = "\x41""#.utf8))?.reason.contains("invalid escape") == true)
        #expect(Self.refusal(Array("a = \"\"\"x\\ y\"\"\"".utf8))?.reason.contains("must end the line") == true)
        #expect(Self.refusal(Array("a = '''x''''''".utf8))?.reason.contains("three quotes") == true)
    }

    @Test("integers: decimal, hex, octal, binary, underscores between digits, the whole Int64 range and no further")
    func integers() throws {
        let table = try Self.parse("""
            a = +99
            b = -17
            c = 1_000_000
            d = 0xDEAD_beef
            e = 0o755
            f = 0b1101
            max = 9223372036854775807
            min = -9223372036854775808
            hexmax = 0x7FFFFFFFFFFFFFFF
            zero = -0
            """)
        #expect(table == ["a": .integer(99), "b": .integer(-17), "c": .integer(1_000_000), "d": .integer(0xDEAD_BEEF),
                          "e": .integer(0o755), "f": .integer(13), "max": .integer(.max), "min": .integer(.min),
                          "hexmax": .integer(.max), "zero": .integer(0)])
        for text in ["9223372036854775808", "-9223372036854775809", "0x8000000000000000", "1" + String(repeating: "0", count: 100)] {
            #expect(Self.refusal(Array("a = \(text)".utf8))?.reason.contains("out of the 64-bit range") == true, "\(text)")
        }
        for text in ["01", "1__0", "_1", "1_", "0x", "-0x1", "0X1", "0b2", "1.", ".5", "1e", "1_.5", "+inf_"] {
            #expect(Self.refusal(Array("a = \(text)".utf8))?.column == 5, "\(text)")
        }
    }

    @Test("floats, booleans, and the four date and time kinds, range-checked")
    func floatsBooleansDates() throws {
        let table = try Self.parse("""
            f = [3.14, -0.01, 5e+22, 1E06, -2E-2, 6.626e-34, 224_617.445_991, inf, -inf, nan]
            t = true
            no = false
            odt = 1979-05-27T00:32:00.999999-07:00
            utc = 1979-05-27 07:32:00z
            ldt = 1979-05-27t07:32:00
            ld = 2000-02-29
            lt = 23:59:60.5000
            """)
        guard case .array(let floats)? = table["f"], floats.count == 10 else { Issue.record("f is not an array of 10"); return }
        #expect(Array(floats.prefix(9)) == [3.14, -0.01, 5e22, 1e6, -2e-2, 6.626e-34, 224_617.445_991, .infinity, -.infinity].map(TOMLValue.float))
        if case .float(let number) = floats[9] { #expect(number.isNaN) } else { Issue.record("nan is not a float") }
        #expect(table["t"] == .boolean(true) && table["no"] == .boolean(false))
        #expect(table["odt"]?.dateTimeText == "1979-05-27T00:32:00.999999-07:00" && table["odt"]?.typeName == "datetime")
        #expect(table["utc"]?.dateTimeText == "1979-05-27T07:32:00Z")
        #expect(table["ldt"]?.dateTimeText == "1979-05-27T07:32:00" && table["ldt"]?.typeName == "datetime-local")
        #expect(table["ld"]?.dateTimeText == "2000-02-29" && table["ld"]?.typeName == "date-local")
        #expect(table["lt"]?.dateTimeText == "23:59:60.5" && table["lt"]?.typeName == "time-local")
        for text in ["1900-02-29", "2023-02-29", "2024-04-31", "2024-13-01", "2024-00-10", "24:00:00", "12:60:00", "12:00:61",
                     "2024-01-01T00:00:00+24:00", "2024-01-01T00:00:00+01:60", "2024-01-01T10:00", "1e400", "truee", "True"] {
            #expect(Self.refusal(Array("a = \(text)".utf8))?.column == 5, "\(text)")
        }
    }

    @Test("arrays of mixed kinds, inline tables, tables, dotted keys and arrays of tables build the expected tree")
    func structure() throws {
        let table = try Self.parse("""
            mixed = [1, "two", [3.0], {four = 4}, ] # trailing comma and comment
            point = { x = 1, y.z = 2 }
            [server]
            host.name = "h"
            [server.limits]
            [[items]]
            id = 1
            [[items]]
            id = 2
            [items.sub]
            """)
        #expect(table["mixed"] == .array([.integer(1), .string("two"), .array([.float(3)]), .table(["four": .integer(4)])]))
        #expect(table["point"] == .table(["x": .integer(1), "y": .table(["z": .integer(2)])]))
        #expect(table["server"] == .table(["host": .table(["name": .string("h")]), "limits": .table([:])]))
        #expect(table["items"] == .array([.table(["id": .integer(1)]), .table(["id": .integer(2), "sub": .table([:])])]))
        #expect(Self.refusal(Array("a = {b = 1,}".utf8))?.reason.contains("cannot end with a comma") == true)
        #expect(Self.refusal(Array("a = {b = 1\n}".utf8))?.reason.contains("found a newline") == true)
    }

    @Test("redefinition rules of TOML 1.0", arguments: [
        TOMLRedefinition(name: "a table defined twice", text: "[a]\n[a]", accepted: false),
        TOMLRedefinition(name: "a duplicate key", text: "a = 1\na = 2", accepted: false),
        TOMLRedefinition(name: "an implicit table defined later", text: "[a.b]\n[a]\nc = 1", accepted: true),
        TOMLRedefinition(name: "an implicit table defined twice", text: "[a.b]\n[a]\n[a]", accepted: false),
        TOMLRedefinition(name: "a table of dotted keys defined again by a header", text: "[a]\nb.c = 1\n[a.b]", accepted: false),
        TOMLRedefinition(name: "a sub-table below a table of dotted keys", text: "[a]\nb.c = 1\n[a.b.d]", accepted: true),
        TOMLRedefinition(name: "dotted keys into a table with its own header", text: "[a.b]\n[a]\nb.c = 1", accepted: false),
        TOMLRedefinition(name: "dotted keys into an implicit table", text: "[a.b.c]\n[a]\nb.d = 1", accepted: true),
        TOMLRedefinition(name: "an inline table extended by a header", text: "a = {b = 1}\n[a]", accepted: false),
        TOMLRedefinition(name: "an inline table extended by a sub-table", text: "a = {b = 1}\n[a.c]", accepted: false),
        TOMLRedefinition(name: "an inline table extended by a dotted key", text: "a = {b = 1}\na.c = 2", accepted: false),
        TOMLRedefinition(name: "an inline table extended inside itself", text: "a = {b = {c = 1}, b.d = 2}", accepted: false),
        TOMLRedefinition(name: "a static array extended by [[ ]]", text: "a = []\n[[a]]", accepted: false),
        TOMLRedefinition(name: "an array of tables reopened as a table", text: "[[a]]\n[a]", accepted: false),
        TOMLRedefinition(name: "a table reopened as an array of tables", text: "[a]\n[[a]]", accepted: false),
        TOMLRedefinition(name: "an array of tables extended by dotted keys", text: "[[a.b]]\n[a]\nb.c = 1", accepted: false),
        TOMLRedefinition(name: "a sub-table of each element of an array of tables", text: "[[a]]\n[a.b]\n[[a]]\n[a.b]", accepted: true),
        TOMLRedefinition(name: "a value turned into a table by a dotted key", text: "a = 1\na.b = 2", accepted: false),
    ])
    func redefinition(_ example: TOMLRedefinition) {
        #expect((Self.refusal(Array(example.text.utf8)) == nil) == example.accepted, "\(String(describing: Self.refusal(Array(example.text.utf8))))")
    }

    @Test("errors give the line and the column in characters (not bytes) of the fault, CRLF counting as one line break")
    func positions() {
        #expect(Self.refusal(Array("a = \"ééé\" x".utf8)) == TOMLParseError(line: 1, column: 11, reason: "expected a newline after the value of 'a', found 'x'"))
        #expect(Self.refusal(Array("a = 1\r\n\r\n  [b\r\n".utf8)) == TOMLParseError(line: 3, column: 5, reason: "expected ']' to close the header [b, found a newline"))
        #expect(Self.refusal(Array("x = 1\n[x]".utf8)) == TOMLParseError(line: 2, column: 2, reason: "key 'x' already holds an integer, not a table"))
        #expect(Self.refusal(Array("t = [\n  1,\n  2 3]".utf8))?.description == "line 3, column 5: expected ',' or ']' in the array opened at line 1, column 5, found '3'")
    }

    @Test("TOMLDocument hands the runtime ConfigValues, dates and times as their text")
    func configValues() throws {
        let document = try TOMLDocument.parse(Array("when = 1979-05-27 07:32:00+00:00\nn = 1\n[t]\nx = [1.5]".utf8))
        #expect(document == ["when": .string("1979-05-27T07:32:00Z"), "n": .integer(1), "t": .table(["x": .array([.double(1.5)])])])
        #expect(throws: TOMLDocument.ParseFailure.self) { try TOMLDocument.parse(Array("a = 1\n".utf8) + [0]) }
    }

    /// toml-test's `tests/` folder, when `TOML_TEST_DIR` names it.
    static let suiteFolder = ProcessInfo.processInfo.environment["TOML_TEST_DIR"]

    // Skipped unless TOML_TEST_DIR points at a toml-test checkout's tests/ folder
    // (https://github.com/toml-lang/toml-test); the suite is not part of this repository.
    @Test("the official toml-test suite for TOML 1.0.0: valid files decode to exactly the expected typed JSON, invalid files are refused",
          .enabled(if: suiteFolder != nil, "set TOML_TEST_DIR to a toml-test checkout's tests/ folder to run it"))
    func tomlTestSuite() throws {
        let folder = try #require(Self.suiteFolder)
        let list = try String(contentsOfFile: folder + "/files-toml-1.0.0", encoding: .utf8)
        let files = list.split(separator: "\n").map(String.init).filter { $0.hasSuffix(".toml") }
        #expect(files.count > 600)
        for file in files {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/" + file)))
            if file.hasPrefix("invalid/") {
                #expect(Self.refusal(bytes) != nil, "\(file) was accepted")
                continue
            }
            let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/" + file.dropLast(5) + ".json")))
            do {
                let table = try TOMLParser.parse(bytes)
                let mismatch = TOMLTypedJSON.mismatch(.table(table), expected, at: "")
                #expect(mismatch == nil, "\(file): \(mismatch ?? "")")
            } catch {
                Issue.record("\(file) was refused: \(error)")
            }
        }
    }
}

/// Compares a parsed value with toml-test's typed JSON (`{"type": "integer", "value": "42"}`) as toml-test does.
enum TOMLTypedJSON {
    /// Where and how `value` differs from `expected`, or nil when they match.
    ///
    /// Floats compare by value (NaN by name), dates and times after normalizing
    /// `t`, `z`, a space separator, fraction digits and a zero offset.
    static func mismatch(_ value: TOMLValue, _ expected: Any, at path: String) -> String? {
        switch value {
        case .table(let entries):
            guard let object = expected as? [String: Any], !isTypedValue(object) else { return "\(path): a table where \(expected) was expected" }
            guard Set(object.keys) == Set(entries.keys) else { return "\(path): keys \(entries.keys.sorted()), expected \(object.keys.sorted())" }
            for (key, entry) in entries {
                if let expectedEntry = object[key], let problem = mismatch(entry, expectedEntry, at: path + "." + key) { return problem }
            }
            return nil
        case .array(let elements):
            guard let array = expected as? [Any], array.count == elements.count else { return "\(path): \(elements.count) elements where \(expected) was expected" }
            return zip(elements, array).enumerated().lazy.compactMap { mismatch($1.0, $1.1, at: "\(path)[\($0)]") }.first
        default:
            guard let object = expected as? [String: Any], let type = object["type"] as? String, let text = object["value"] as? String else {
                return "\(path): a \(value.typeName) where \(expected) was expected"
            }
            guard type == value.typeName else { return "\(path): a \(value.typeName) where a \(type) was expected" }
            let equal: Bool = switch value {
            case .string(let string): string == text
            case .integer(let number): String(number) == text
            case .float(let number) where number.isNaN: text.lowercased().hasSuffix("nan")
            case .float(let number): Double(text) == number
            case .boolean(let flag): text == (flag ? "true" : "false")
            default: value.dateTimeText == normalizedDateTime(text)
            }
            return equal ? nil : "\(path): \(value) where \(text) was expected"
        }
    }

    /// Whether `object` is a typed scalar (`type` and `value` only) rather than a table.
    static func isTypedValue(_ object: [String: Any]) -> Bool {
        object.count == 2 && object["type"] is String && object["value"] is String
    }

    /// A date or time written as ``TOMLValue/dateTimeText`` writes it.
    static func normalizedDateTime(_ text: String) -> String {
        var result = text.uppercased().replacingOccurrences(of: " ", with: "T")
        if let dot = result.firstIndex(of: ".") {
            let start = result.index(after: dot)
            let end = result[start...].firstIndex { !$0.isASCII || !$0.isNumber } ?? result.endIndex
            var digits = String(result[start..<end].prefix(9))
            while digits.hasSuffix("0") { digits.removeLast() }
            result = String(result[..<dot]) + (digits.isEmpty ? "" : "." + digits) + String(result[end...])
        }
        if result.hasSuffix("+00:00") || result.hasSuffix("-00:00") { result = String(result.dropLast(6)) + "Z" }
        return result
    }
}
