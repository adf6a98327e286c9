/// The checks every byte of a TOML file passes before it is parsed.
///
/// TOML 1.0 text is UTF-8, and the only control characters it allows anywhere
/// are tab, line feed, and carriage return directly before a line feed. Checking
/// the whole input up front means no later step can be handed a NUL byte, a
/// stray carriage return or a broken UTF-8 sequence, and nothing after a NUL is
/// ever silently dropped.
enum TOMLEncoding {
    /// The UTF-8 encoding of U+FEFF, which may start the file and is then skipped (as toml-test expects).
    static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// Checks `bytes` and returns the offset where the TOML text starts (3 after a byte order mark, else 0).
    static func validate(_ bytes: [UInt8]) throws(TOMLParseError) -> Int {
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) {
            throw TOMLParseError("UTF-16 text (byte order mark \(hex(bytes[0])) \(hex(bytes[1]))); TOML files must be UTF-8", at: 0, in: bytes)
        }
        let start = bytes.starts(with: byteOrderMark) ? 3 : 0
        var index = start
        while index < bytes.count {
            let byte = bytes[index]
            if byte < 0x80 {
                if let reason = controlProblem(byte, next: index + 1 < bytes.count ? bytes[index + 1] : nil, atTextStart: index <= start + 1) {
                    throw TOMLParseError(reason, at: index, in: bytes)
                }
                index += 1
            } else {
                guard let length = UTF8Sequence.length(in: bytes, at: index) else {
                    throw TOMLParseError("invalid UTF-8 byte \(hex(byte))", at: index, in: bytes)
                }
                index += length
            }
        }
        return start
    }

    /// Why the ASCII `byte` may not appear in TOML text, or nil when it may.
    ///
    /// `atTextStart` says the byte is the first or second of the text, where a NUL hints at UTF-16.
    private static func controlProblem(_ byte: UInt8, next: UInt8?, atTextStart: Bool) -> String? {
        switch byte {
        case UInt8(ascii: "\t"), UInt8(ascii: "\n"):
            return nil
        case UInt8(ascii: "\r"):
            return next == UInt8(ascii: "\n") ? nil : "carriage return not followed by a line feed"
        case 0x00:
            return atTextStart
                ? "NUL byte (U+0000) at the start of the file: UTF-16 text? TOML files must be UTF-8"
                : "NUL byte (U+0000) is not allowed in TOML"
        case 0x01..<0x20, 0x7F:
            return "control character \(scalarName(UInt32(byte))) is not allowed in TOML"
        default:
            return nil
        }
    }

    /// `byte` as `0xAB`.
    static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return "0x" + (digits.count < 2 ? "0" + digits : digits)
    }

    /// A code point as `U+00AB`.
    static func scalarName(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
