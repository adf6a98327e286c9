/// Why a TOML text was refused, and where.
///
/// `line` and `column` are 1-based. The column counts characters (Unicode
/// scalars), not bytes, from the start of the line; a leading UTF-8 byte order
/// mark takes no column.
struct TOMLParseError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The line of the offending character, from 1.
    let line: Int
    /// The column of the offending character, in Unicode scalars from 1.
    let column: Int
    /// What was expected and what was found.
    let reason: String

    /// `line L, column C: reason`.
    var description: String { "line \(line), column \(column): \(reason)" }

    /// An error with a known position.
    init(line: Int, column: Int, reason: String) {
        self.line = line
        self.column = column
        self.reason = reason
    }

    /// The error for the character starting at byte `offset` of `bytes`, its line and column counted from the start.
    init(_ reason: String, at offset: Int, in bytes: [UInt8]) {
        let end = min(max(offset, 0), bytes.count)
        var index = bytes.starts(with: TOMLEncoding.byteOrderMark) && end >= 3 ? 3 : 0
        var line = 1
        var column = 1
        while index < end {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
            index += 1
        }
        self.init(line: line, column: column, reason: reason)
    }
}

/// A conflict between a key and what the document already defined, found by ``TOMLTableBuilder``.
///
/// The parser turns it into a ``TOMLParseError`` at the key's position.
struct TOMLTableConflict: Error {
    /// What the key collides with.
    let reason: String
    /// The byte offset of the key part at fault.
    let offset: Int
}
