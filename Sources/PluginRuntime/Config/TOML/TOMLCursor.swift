/// A read position in the bytes of a TOML file that never reads outside them.
///
/// Every access to the input goes through ``current`` and ``peek(_:)``, which
/// answer nil past the end, so no input can make the parser index out of range.
struct TOMLCursor {
    /// The whole file, already checked by ``TOMLEncoding/validate(_:)``.
    let bytes: [UInt8]
    /// The byte offset of the next byte to read, from 0 to `bytes.count`.
    private(set) var offset: Int

    /// A cursor at `offset` of `bytes`.
    init(bytes: [UInt8], offset: Int) {
        self.bytes = bytes
        self.offset = min(max(offset, 0), bytes.count)
    }

    /// Whether every byte was read.
    var atEnd: Bool { offset >= bytes.count }

    /// The byte at the position, or nil at the end.
    var current: UInt8? { peek(0) }

    /// The byte `distance` bytes after the position, or nil when that is past the end.
    func peek(_ distance: Int) -> UInt8? {
        let (index, overflow) = offset.addingReportingOverflow(distance)
        guard !overflow, index >= 0, index < bytes.count else { return nil }
        return bytes[index]
    }

    /// Moves `count` bytes forward, stopping at the end.
    mutating func advance(_ count: Int = 1) {
        offset = count >= bytes.count - offset ? bytes.count : offset + max(count, 0)
    }

    /// Consumes `byte` when it is next; says whether it was.
    mutating func take(_ byte: UInt8) -> Bool {
        guard current == byte else { return false }
        advance()
        return true
    }

    /// Consumes spaces and tabs.
    mutating func skipWhitespace() {
        while let byte = current, byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { advance() }
    }

    /// Consumes a comment (from `#` to the end of the line, the newline left unread) when one is next.
    mutating func skipComment() {
        guard current == UInt8(ascii: "#") else { return }
        while let byte = current, byte != UInt8(ascii: "\n"), byte != UInt8(ascii: "\r") { advance() }
    }

    /// Consumes a newline (LF or CRLF) when one is next; says whether it did.
    mutating func takeNewline() -> Bool {
        if take(UInt8(ascii: "\n")) { return true }
        guard current == UInt8(ascii: "\r"), peek(1) == UInt8(ascii: "\n") else { return false }
        advance(2)
        return true
    }

    /// Consumes whitespace, comments and newlines, as allowed between array elements.
    mutating func skipBlankLines() {
        repeat {
            skipWhitespace()
            skipComment()
        } while takeNewline()
    }

    /// The error `reason` at `offset` (the position when nil), with its line and column.
    func failure(_ reason: String, at offset: Int? = nil) -> TOMLParseError {
        TOMLParseError(reason, at: offset ?? self.offset, in: bytes)
    }

    /// The error "expected `what`, found <the next character>".
    func expected(_ what: String) -> TOMLParseError {
        failure("expected \(what), found \(describeCurrent())")
    }

    /// The next character as an error message names it: `'x'`, `a newline`, `end of file`, `U+00A0`.
    func describeCurrent() -> String {
        guard let byte = current else { return "end of file" }
        switch byte {
        case UInt8(ascii: "\n"), UInt8(ascii: "\r"): return "a newline"
        case UInt8(ascii: "\t"): return "a tab"
        case UInt8(ascii: " "): return "a space"
        case 0x21..<0x7F: return "'\(Character(Unicode.Scalar(byte)))'"
        case 0x80...: break
        default: return TOMLEncoding.scalarName(UInt32(byte))
        }
        var value = UInt32(byte & (byte >= 0xF0 ? 0x07 : byte >= 0xE0 ? 0x0F : 0x1F))
        var index = 1
        while let next = peek(index), next & 0xC0 == 0x80, index < 4 {
            value = value << 6 | UInt32(next & 0x3F)
            index += 1
        }
        return TOMLEncoding.scalarName(value)
    }
}
