import PluginRuntime

/// A strict JSON reader (RFC 8259) for bytes the host does not trust: request
/// bodies and plugins' results.
///
/// - Any value at the top, surrounded by optional whitespace, and nothing after it.
/// - Nesting at most ``maxDepth`` deep (`PH_JSON_MAX_DEPTH`), so no input can exhaust the stack.
/// - Strings are UTF-8; an escaped lone surrogate (`"\uD800"`) is refused, so every string
///   is text (I-JSON, RFC 7493).
/// - An object with the same key twice is refused: the host checks the document and a
///   plugin reads it, and two readers that keep different duplicates would disagree.
/// - No comments, trailing commas, leading zeros, `NaN` or single quotes.
public struct JSONParser {
    /// Why a document is not well-formed JSON, and at which byte.
    public struct Malformed: Error, Sendable, CustomStringConvertible {
        /// In words.
        public let reason: String
        /// The byte offset where reading stopped.
        public let offset: Int
        /// "reason at byte N".
        public var description: String { "\(reason) at byte \(offset)" }
    }

    /// How deep arrays and objects may nest.
    public static let maxDepth = 64

    /// Parses `bytes` into a document.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(Malformed) -> JSONValue {
        var parser = JSONParser(bytes, building: true)
        return try parser.document()
    }

    /// Parses `bytes` into a document.
    public static func parse(_ bytes: [UInt8]) throws(Malformed) -> JSONValue {
        let result = bytes.withUnsafeBufferPointer { buffer -> Result<JSONValue, Malformed> in
            do throws(Malformed) { return .success(try parse(buffer)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Parses `text` into a document.
    public static func parse(_ text: String) throws(Malformed) -> JSONValue { try parse(Array(text.utf8)) }

    /// Checks `bytes` are well-formed without building the document.
    public static func check(_ bytes: UnsafeBufferPointer<UInt8>) throws(Malformed) {
        var parser = JSONParser(bytes, building: false)
        _ = try parser.document()
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private let building: Bool
    private var position = 0
    private var depth = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>, building: Bool) {
        self.bytes = bytes
        self.building = building
    }

    private func fail(_ reason: String) -> Malformed { Malformed(reason: reason, offset: position) }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
    }

    private mutating func document() throws(Malformed) -> JSONValue {
        skipWhitespace()
        guard current != nil else { throw fail("empty document") }
        let value = try self.value()
        skipWhitespace()
        guard current == nil else { throw fail("unexpected text after the document") }
        return value
    }

    private mutating func value() throws(Malformed) -> JSONValue {
        guard let byte = current else { throw fail("unexpected end of document") }
        switch byte {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw fail("unexpected character '\(Self.shown(byte))'")
        }
    }

    private static func shown(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
    }

    private mutating func literal(_ word: StaticString) throws(Malformed) {
        let count = word.utf8CodeUnitCount
        guard bytes.count - position >= count,
              (0..<count).allSatisfy({ bytes[position + $0] == word.utf8Start[$0] }) else {
            throw fail("unexpected text (expected '\(word)')")
        }
        position += count
    }

    private mutating func enter() throws(Malformed) {
        depth += 1
        guard depth <= Self.maxDepth else { throw fail("nested more than \(Self.maxDepth) deep") }
    }

    private mutating func object() throws(Malformed) -> JSONValue {
        try enter()
        position += 1
        var members: [JSONMember] = []
        var keys = Set<String>()
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            position += 1
            depth -= 1
            return .object([])
        }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let keyStart = position
            let key = try string(alwaysBuild: true)
            guard keys.insert(key).inserted else {
                throw Malformed(reason: "duplicate key \"\(key)\"", offset: keyStart)
            }
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw fail("expected ':' after a key") }
            position += 1
            skipWhitespace()
            let value = try self.value()
            if building { members.append(JSONMember(key, value)) }
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"):
                position += 1
                depth -= 1
                return .object(members)
            default: throw fail("expected ',' or '}' in an object")
            }
        }
    }

    private mutating func array() throws(Malformed) -> JSONValue {
        try enter()
        position += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            position += 1
            depth -= 1
            return .array([])
        }
        while true {
            skipWhitespace()
            let value = try self.value()
            if building { elements.append(value) }
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"):
                position += 1
                depth -= 1
                return .array(elements)
            default: throw fail("expected ',' or ']' in an array")
            }
        }
    }

    private mutating func number() throws(Malformed) -> JSONValue {
        let start = position
        if current == UInt8(ascii: "-") { position += 1 }
        guard let first = current, Self.isDigit(first) else { throw fail("expected a digit") }
        position += 1
        if first == UInt8(ascii: "0"), let next = current, Self.isDigit(next) { throw fail("a number cannot have a leading zero") }
        while let byte = current, Self.isDigit(byte) { position += 1 }
        if current == UInt8(ascii: ".") {
            position += 1
            guard let byte = current, Self.isDigit(byte) else { throw fail("expected a digit after '.'") }
            while let byte = current, Self.isDigit(byte) { position += 1 }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard let byte = current, Self.isDigit(byte) else { throw fail("expected a digit in the exponent") }
            while let byte = current, Self.isDigit(byte) { position += 1 }
        }
        guard building else { return .null }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        return .number(JSONNumber(text: text))
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// Reads a string (at its opening quote), checking UTF-8 and escapes; builds it when building.
    private mutating func string(alwaysBuild: Bool = false) throws(Malformed) -> String {
        let build = building || alwaysBuild
        position += 1
        var decoded: [UInt8] = []
        while true {
            guard let byte = current else { throw fail("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                return build ? String(decoding: decoded, as: UTF8.self) : ""
            case UInt8(ascii: "\\"):
                position += 1
                guard let escape = current else { throw fail("unterminated escape") }
                position += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded.append(escape)
                case UInt8(ascii: "b"): decoded.append(0x08)
                case UInt8(ascii: "f"): decoded.append(0x0C)
                case UInt8(ascii: "n"): decoded.append(0x0A)
                case UInt8(ascii: "r"): decoded.append(0x0D)
                case UInt8(ascii: "t"): decoded.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard bytes.count - position >= 6, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                            throw fail("a high surrogate escape without its low surrogate")
                        }
                        position += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw fail("a high surrogate escape without its low surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw fail("a lone low surrogate escape")
                    }
                    if build, let unicode = Unicode.Scalar(scalar) { decoded.append(contentsOf: Array(String(Character(unicode)).utf8)) }
                default: throw fail("invalid escape '\\\(Self.shown(escape))'")
                }
            case 0..<0x20:
                throw fail("a control character in a string must be escaped")
            case 0..<0x80:
                if build { decoded.append(byte) }
                position += 1
            default:
                let length = try utf8Sequence()
                if build { decoded.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[position..<position + length])) }
                position += length
            }
        }
    }

    private mutating func hex4() throws(Malformed) -> UInt32 {
        guard bytes.count - position >= 4 else { throw fail("a \\u escape needs four hex digits") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw fail("a \\u escape needs four hex digits")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    /// The length of the well-formed UTF-8 sequence (2–4 bytes) at the position.
    private func utf8Sequence() throws(Malformed) -> Int {
        guard let length = UTF8Sequence.length(in: bytes, at: position) else { throw fail("not UTF-8") }
        return length
    }
}
