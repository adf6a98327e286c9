/// Reading a value: which kind starts here, arrays and inline tables.
extension TOMLParser {
    /// Reads the value that starts at the position; `depth` is how deeply it is nested.
    ///
    /// Arrays and inline tables recurse with `depth + 1` and refuse to go past
    /// ``maxDepth``, which bounds the recursion.
    mutating func parseValue(depth: Int) throws(TOMLParseError) -> TOMLValue {
        switch cursor.current {
        case UInt8(ascii: "\""):
            return .string(try parseBasicString())
        case UInt8(ascii: "'"):
            return .string(try parseLiteralString())
        case UInt8(ascii: "["):
            return try parseArray(depth: depth)
        case UInt8(ascii: "{"):
            return try parseInlineTable(depth: depth)
        case let byte? where Self.isScalarByte(byte):
            return try parseScalar()
        default:
            throw cursor.expected("a value")
        }
    }

    /// Reads `[ value, value, ]`, with newlines and comments allowed between the brackets.
    private mutating func parseArray(depth: Int) throws(TOMLParseError) -> TOMLValue {
        guard depth < Self.maxDepth else {
            throw cursor.failure("arrays and tables nested more than \(Self.maxDepth) levels deep")
        }
        let start = cursor.offset
        cursor.advance()
        var elements: [TOMLValue] = []
        while true {
            cursor.skipBlankLines()
            if cursor.take(UInt8(ascii: "]")) { return .array(elements) }
            elements.append(try parseValue(depth: depth + 1))
            cursor.skipBlankLines()
            if cursor.take(UInt8(ascii: "]")) { return .array(elements) }
            guard cursor.take(UInt8(ascii: ",")) else {
                throw cursor.expected("',' or ']' in the array opened at \(position(of: start))")
            }
        }
    }

    /// Reads `{ key = value, … }`: on one line, no trailing comma, closed for good once read.
    private mutating func parseInlineTable(depth: Int) throws(TOMLParseError) -> TOMLValue {
        guard depth < Self.maxDepth else {
            throw cursor.failure("arrays and tables nested more than \(Self.maxDepth) levels deep")
        }
        let start = cursor.offset
        cursor.advance()
        let table = TOMLTableNode(origin: .inline, depth: depth)
        cursor.skipWhitespace()
        if cursor.take(UInt8(ascii: "}")) { return .table([:]) }
        while true {
            _ = try parseKeyValue(into: table)
            cursor.skipWhitespace()
            if cursor.take(UInt8(ascii: "}")) { return .table(table.finish()) }
            guard cursor.take(UInt8(ascii: ",")) else {
                throw cursor.expected("',' or '}' in the inline table opened at \(position(of: start))")
            }
            cursor.skipWhitespace()
            if cursor.current == UInt8(ascii: "}") {
                throw cursor.failure("an inline table cannot end with a comma (found '}' after ',')")
            }
        }
    }

    /// `line L, column C` of byte `offset`, for messages that point back at an opening bracket.
    func position(of offset: Int) -> String {
        let place = cursor.failure("", at: offset)
        return "line \(place.line), column \(place.column)"
    }

    /// Whether `byte` may appear in a number, boolean, date or time: `A-Z a-z 0-9 _ + - . :`.
    static func isScalarByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "+"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: ":"): true
        default: false
        }
    }

    /// Reads a boolean, number, date or time: the run of ``isScalarByte(_:)`` bytes at the position.
    ///
    /// A date followed by a space and a digit continues into its time (`1979-05-27 07:32:00`).
    private mutating func parseScalar() throws(TOMLParseError) -> TOMLValue {
        let start = cursor.offset
        while let byte = cursor.current, Self.isScalarByte(byte) { cursor.advance() }
        if cursor.offset - start == 10, cursor.current == UInt8(ascii: " "),
           let next = cursor.peek(1), next >= UInt8(ascii: "0"), next <= UInt8(ascii: "9"),
           TOMLDateTimeParser.isDate(cursor.bytes[start..<cursor.offset]) {
            cursor.advance()
            while let byte = cursor.current, Self.isScalarByte(byte) { cursor.advance() }
        }
        let token = cursor.bytes[start..<cursor.offset]
        let text = String(decoding: token.prefix(64), as: UTF8.self)
        let result: Result<TOMLValue, TOMLTokenProblem>
        switch text {
        case "true": return .boolean(true)
        case "false": return .boolean(false)
        case _ where TOMLDateTimeParser.looksLikeDateTime(token): result = TOMLDateTimeParser.parse(token)
        default: result = TOMLNumberParser.parse(token)
        }
        switch result {
        case .success(let value): return value
        case .failure(let problem):
            let shown = token.count > 64 ? text + "…" : text
            throw cursor.failure("'\(shown)' is not a valid \(problem.kind): \(problem.reason)", at: start)
        }
    }
}

/// Why a number, date or time token is malformed, as ``TOMLNumberParser`` and ``TOMLDateTimeParser`` report it.
struct TOMLTokenProblem: Error {
    /// What the token was read as: "integer", "float", "date-time", "value".
    let kind: String
    /// What is wrong with it.
    let reason: String
}
