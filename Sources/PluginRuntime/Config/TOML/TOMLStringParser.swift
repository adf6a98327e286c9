/// Reading the four kinds of TOML strings: basic, multi-line basic, literal, multi-line literal.
///
/// The input was checked to be UTF-8 without forbidden control characters, so
/// the bytes between the quotes can be copied as they are; escapes are resolved
/// here. In multi-line strings a CRLF is kept as a single line feed.
extension TOMLParser {
    /// Reads `"…"` or `"""…"""` at the position.
    mutating func parseBasicString() throws(TOMLParseError) -> String {
        let start = cursor.offset
        let multiline = startsMultiline(quote: UInt8(ascii: "\""))
        var text: [UInt8] = []
        while true {
            guard let byte = cursor.current else {
                throw cursor.failure("the string opened at \(position(of: start)) is not closed before the end of the file")
            }
            switch byte {
            case UInt8(ascii: "\""):
                if try closes(multiline: multiline, quote: byte, into: &text) { return String(decoding: text, as: UTF8.self) }
            case UInt8(ascii: "\\"):
                try parseEscape(multiline: multiline, into: &text)
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                try appendNewline(multiline: multiline, into: &text)
            default:
                text.append(byte)
                cursor.advance()
            }
        }
    }

    /// Reads `'…'` or `'''…'''` at the position: no escapes.
    mutating func parseLiteralString() throws(TOMLParseError) -> String {
        let start = cursor.offset
        let multiline = startsMultiline(quote: UInt8(ascii: "'"))
        var text: [UInt8] = []
        while true {
            guard let byte = cursor.current else {
                throw cursor.failure("the string opened at \(position(of: start)) is not closed before the end of the file")
            }
            switch byte {
            case UInt8(ascii: "'"):
                if try closes(multiline: multiline, quote: byte, into: &text) { return String(decoding: text, as: UTF8.self) }
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                try appendNewline(multiline: multiline, into: &text)
            default:
                text.append(byte)
                cursor.advance()
            }
        }
    }

    /// Consumes the opening quote(s); says whether they open a multi-line string (whose first newline is dropped).
    private mutating func startsMultiline(quote: UInt8) -> Bool {
        guard cursor.peek(1) == quote, cursor.peek(2) == quote else {
            cursor.advance()
            return false
        }
        cursor.advance(3)
        _ = cursor.takeNewline()
        return true
    }

    /// At a quote: consumes a closing delimiter and says true, or appends the quotes that belong to the text.
    ///
    /// In a multi-line string one or two quotes are text, and up to two more may
    /// directly precede the closing three (`""""` ends the text with one quote).
    private mutating func closes(multiline: Bool, quote: UInt8, into text: inout [UInt8]) throws(TOMLParseError) -> Bool {
        guard multiline else {
            cursor.advance()
            return true
        }
        var count = 0
        while cursor.peek(count) == quote, count < 6 { count += 1 }
        if count == 6 { throw cursor.failure("three quotes in a row inside a multi-line string must be escaped or split") }
        text.append(contentsOf: repeatElement(quote, count: count >= 3 ? count - 3 : count))
        cursor.advance(count)
        return count >= 3
    }

    /// At a newline: appends a line feed in a multi-line string, refuses it in a single-line one.
    private mutating func appendNewline(multiline: Bool, into text: inout [UInt8]) throws(TOMLParseError) {
        guard multiline else { throw cursor.failure("a single-line string cannot contain a newline (not closed on its line)") }
        _ = cursor.takeNewline()
        text.append(UInt8(ascii: "\n"))
    }

    /// At a backslash: appends the escaped character, or skips a line-ending backslash and the blank lines after it.
    private mutating func parseEscape(multiline: Bool, into text: inout [UInt8]) throws(TOMLParseError) {
        let start = cursor.offset
        cursor.advance()
        guard let byte = cursor.current else { throw cursor.failure("the string is not closed before the end of the file") }
        let simple: UInt8? = switch byte {
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "t"): 0x09
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "f"): 0x0C
        case UInt8(ascii: "r"): 0x0D
        case UInt8(ascii: "\""): byte
        case UInt8(ascii: "\\"): byte
        default: nil
        }
        if let simple {
            text.append(simple)
            cursor.advance()
        } else if byte == UInt8(ascii: "u") || byte == UInt8(ascii: "U") {
            cursor.advance()
            let scalar = try parseHexScalar(digits: byte == UInt8(ascii: "u") ? 4 : 8, escapeStart: start)
            text.append(contentsOf: String(Character(scalar)).utf8)
        } else if multiline, byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
            cursor.skipWhitespace()
            guard cursor.takeNewline() else {
                throw cursor.failure("a backslash followed by whitespace must end the line (line-ending backslash)", at: start)
            }
            while true {
                cursor.skipWhitespace()
                if !cursor.takeNewline() { break }
            }
        } else {
            throw cursor.failure("invalid escape: a backslash followed by \(cursor.describeCurrent()) (TOML 1.0 allows \\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX \\UXXXXXXXX)", at: start)
        }
    }

    /// Reads the `digits` hex digits of `\u` or `\U` and returns the scalar they name.
    private mutating func parseHexScalar(digits: Int, escapeStart: Int) throws(TOMLParseError) -> Unicode.Scalar {
        var value: UInt32 = 0
        for _ in 0..<digits {
            guard let byte = cursor.current, let digit = TOMLNumberParser.digitValue(byte, radix: 16) else {
                throw cursor.expected("\(digits) hex digits after '\\\(digits == 4 ? "u" : "U")'")
            }
            value = value << 4 | UInt32(digit)
            cursor.advance()
        }
        guard let scalar = Unicode.Scalar(value) else {
            throw cursor.failure("escape \\\(digits == 4 ? "u" : "U") names \(TOMLEncoding.scalarName(value)), which is not a Unicode scalar value", at: escapeStart)
        }
        return scalar
    }
}
