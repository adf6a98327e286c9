import Crypto

/// The SHA-256 digest of a library's bytes, as pins and signatures name it:
/// `sha256:` followed by 64 lowercase hex digits.
///
/// Computed over the exact bytes the host loads (the shadow copy is written
/// from the same buffer), so a check and the `dlopen` cannot see different files.
public struct LibraryDigest: Hashable, Sendable, CustomStringConvertible {
    /// The 32 digest bytes.
    public let bytes: [UInt8]

    /// The digest of `data`.
    public init(of data: [UInt8]) {
        bytes = Array(SHA256.hash(data: data))
    }

    /// Parses `sha256:HEX` (64 hex digits, either case); nil when malformed.
    public init?(parsing text: String) {
        guard text.hasPrefix("sha256:") else { return nil }
        let hex = Array(text.utf8.dropFirst(7))
        guard hex.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        var index = 0
        while index < 64 {
            guard let high = HexDigit.value(hex[index]), let low = HexDigit.value(hex[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        self.bytes = bytes
    }

    /// The 64 lowercase hex digits, without the `sha256:` prefix.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// `sha256:` and the hex digits, as written in a `[pins]` table.
    public var description: String { "sha256:" + hex }

}

extension LibraryDigest {
    /// The digest of the file at `path` as it is now (for `plughost pin` and `plughost sign`).
    /// - Throws: ``PluginError`` naming the file when it cannot be read.
    public init(ofFileAt path: String) throws(PluginError) {
        do {
            self.init(of: try FileSystem.readFile(path))
        } catch {
            throw PluginError(.libraryNotFound, file: path, reason: "cannot read: \(error.description)")
        }
    }
}
