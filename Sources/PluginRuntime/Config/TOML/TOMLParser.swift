/// A TOML 1.0.0 parser in pure Swift that refuses bad input with an error and never traps.
///
/// It reads every byte of the input (checked first by ``TOMLEncoding``), in one
/// pass and in linear time. Arrays, inline tables and tables may nest at most
/// ``maxDepth`` levels, counting the parts of dotted keys and headers, so the
/// recursion of nested values is bounded whatever the input (measured at the
/// limit: under 64 KiB of stack optimized, under 512 KiB unoptimized). Errors
/// carry the line and column (in characters) of the fault.
///
/// This file reads the document's lines: headers, keys and key/value pairs.
/// Values are read by the extensions in the other files of this folder.
struct TOMLParser {
    /// The deepest tables, arrays and inline tables may nest.
    static let maxDepth = 128

    /// The read position.
    var cursor: TOMLCursor
    /// The tables read so far.
    var builder: TOMLTableBuilder

    /// Parses a whole TOML file into its top-level table.
    static func parse(_ bytes: [UInt8]) throws(TOMLParseError) -> [String: TOMLValue] {
        let start = try TOMLEncoding.validate(bytes)
        var parser = TOMLParser(cursor: TOMLCursor(bytes: bytes, offset: start), builder: TOMLTableBuilder(maxDepth: maxDepth))
        try parser.parseDocument()
        return parser.builder.root.finish()
    }

    /// Reads every line: blank, comment, `[table]`, `[[array]]` or `key = value`.
    private mutating func parseDocument() throws(TOMLParseError) {
        while !cursor.atEnd {
            cursor.skipWhitespace()
            var header: (key: [TOMLKeyPart], isArray: Bool)?
            var key: [TOMLKeyPart]?
            switch cursor.current {
            case nil, UInt8(ascii: "#"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                break
            case UInt8(ascii: "["):
                header = try parseHeader()
            default:
                key = try parseKeyValue(into: builder.current)
            }
            cursor.skipWhitespace()
            cursor.skipComment()
            guard cursor.atEnd || cursor.takeNewline() else {
                let what = if let header {
                    header.isArray ? "[[\(TOMLTableBuilder.path(header.key))]]" : "[\(TOMLTableBuilder.path(header.key))]"
                } else if let key {
                    "the value of \(TOMLTableBuilder.quoted(key))"
                } else {
                    "a comment"
                }
                throw cursor.expected("a newline after \(what)")
            }
        }
    }

    /// Reads `[key]` or `[[key]]` and opens its table; returns the key and which of the two it was.
    private mutating func parseHeader() throws(TOMLParseError) -> (key: [TOMLKeyPart], isArray: Bool) {
        cursor.advance()
        let isArray = cursor.take(UInt8(ascii: "["))
        cursor.skipWhitespace()
        let key = try parseKey()
        let closing = isArray ? "']]' to close the header [[" : "']' to close the header ["
        guard cursor.take(UInt8(ascii: "]")) else { throw cursor.expected(closing + TOMLTableBuilder.path(key)) }
        if isArray {
            guard cursor.take(UInt8(ascii: "]")) else { throw cursor.expected(closing + TOMLTableBuilder.path(key)) }
        }
        do {
            if isArray { try builder.openArrayTable(key) } else { try builder.openTable(key) }
        } catch {
            throw cursor.failure(error.reason, at: error.offset)
        }
        return (key, isArray)
    }

    /// Reads `key = value` and defines it in `table`; returns the key.
    mutating func parseKeyValue(into table: TOMLTableNode) throws(TOMLParseError) -> [TOMLKeyPart] {
        let key = try parseKey()
        guard cursor.take(UInt8(ascii: "=")) else {
            throw cursor.expected("'=' after the key \(TOMLTableBuilder.quoted(key))")
        }
        cursor.skipWhitespace()
        let depth = table.depth + key.count
        if depth > Self.maxDepth {
            let culprit = key.dropFirst(max(0, Self.maxDepth - table.depth)).first
            throw cursor.failure("tables nested more than \(Self.maxDepth) levels deep", at: culprit?.offset)
        }
        let value = try parseValue(depth: depth)
        do {
            try table.insert(value, at: key)
        } catch {
            throw cursor.failure(error.reason, at: error.offset)
        }
        return key
    }

    /// Reads a key (`a`, `"a b"`, `'a'`, `a . "b" . c`) and the whitespace after it.
    mutating func parseKey() throws(TOMLParseError) -> [TOMLKeyPart] {
        var parts: [TOMLKeyPart] = []
        repeat {
            cursor.skipWhitespace()
            let start = cursor.offset
            let name: String
            switch cursor.current {
            case UInt8(ascii: "\""):
                guard cursor.peek(1) != UInt8(ascii: "\"") || cursor.peek(2) != UInt8(ascii: "\"") else {
                    throw cursor.failure("a key cannot be a multi-line string")
                }
                name = try parseBasicString()
            case UInt8(ascii: "'"):
                guard cursor.peek(1) != UInt8(ascii: "'") || cursor.peek(2) != UInt8(ascii: "'") else {
                    throw cursor.failure("a key cannot be a multi-line string")
                }
                name = try parseLiteralString()
            case let byte? where Self.isBareKeyByte(byte):
                while let byte = cursor.current, Self.isBareKeyByte(byte) { cursor.advance() }
                name = String(decoding: cursor.bytes[start..<cursor.offset], as: UTF8.self)
            default:
                throw cursor.expected(parts.isEmpty ? "a key" : "a key after '.'")
            }
            parts.append(TOMLKeyPart(name: name, offset: start))
            cursor.skipWhitespace()
        } while cursor.take(UInt8(ascii: "."))
        return parts
    }

    /// Whether `byte` may appear in a bare key: `A-Z a-z 0-9 _ -`.
    static func isBareKeyByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"): true
        default: false
        }
    }
}
