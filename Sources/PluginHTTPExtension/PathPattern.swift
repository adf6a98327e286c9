public import PluginRuntime
/// A route path pattern: literal segments and `:name` captures, e.g. `/calc/add/:a/:b`.
struct PathPattern: Hashable, Sendable, CustomStringConvertible {
    enum Segment: Hashable, Sendable {
        case literal(String)
        case capture(String)
    }

    /// The pattern as written.
    let description: String
    let segments: [Segment]

    /// Parses `text`; nil (with a reason) when it is not a valid pattern.
    static func parse(_ text: String) -> Result<PathPattern, PatternError> {
        guard text.hasPrefix("/") else { return .failure(PatternError(reason: "path '\(text)' must start with '/'")) }
        var segments: [Segment] = []
        var names = Set<String>()
        for part in text.split(separator: "/", omittingEmptySubsequences: true) {
            if part.hasPrefix(":") {
                let name = String(part.dropFirst())
                guard !name.isEmpty, names.insert(name).inserted else {
                    return .failure(PatternError(reason: "path '\(text)' has an empty or repeated capture ':\(name)'"))
                }
                segments.append(.capture(name))
            } else {
                guard !part.contains(where: { $0 == "?" || $0 == "#" || $0 == " " }) else {
                    return .failure(PatternError(reason: "path '\(text)' contains '?', '#' or a space"))
                }
                segments.append(.literal(String(part)))
            }
        }
        return .success(PathPattern(description: text, segments: segments))
    }

    /// Why a pattern was refused.
    struct PatternError: Error { let reason: String }

    /// The capture names, in order.
    var captureNames: [String] {
        segments.compactMap { if case .capture(let name) = $0 { name } else { nil } }
    }

    /// The pattern with captures normalised, so `/a/:x` and `/a/:y` conflict.
    var shape: String {
        "/" + segments.map { if case .literal(let text) = $0 { text } else { ":" } }.joined(separator: "/")
    }

    /// Matches `pathSegments` (already split); returns the captures (exact
    /// percent-decoded bytes), or nil.
    func match(_ pathSegments: [Substring]) -> [(String, [UInt8])]? {
        guard pathSegments.count == segments.count else { return nil }
        var captures: [(String, [UInt8])] = []
        for (segment, part) in zip(segments, pathSegments) {
            switch segment {
            case .literal(let text): if text != part { return nil }
            case .capture(let name): captures.append((name, PercentDecoding.decodeBytes(part.utf8)))
            }
        }
        return captures
    }
}

/// `%XX` and `+` decoding for paths and query strings.
enum PercentDecoding {
    /// Decodes `%XX` escapes (and `+` as space when `plusIsSpace`) into the exact
    /// bytes they stand for, `%00` included; invalid escapes stay as they are.
    static func decodeBytes<C: Collection<UInt8>>(_ text: C, plusIsSpace: Bool = false) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count)
        var index = text.startIndex
        while index != text.endIndex {
            let byte = text[index]
            text.formIndex(after: &index)
            if byte == UInt8(ascii: "%"), index != text.endIndex, let high = hex(text[index]) {
                let next = text.index(after: index)
                if next != text.endIndex, let low = hex(text[next]) {
                    bytes.append(high << 4 | low)
                    index = text.index(after: next)
                    continue
                }
            }
            bytes.append(plusIsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
        }
        return bytes
    }

    /// Decodes `bytes` like ``decodeBytes(_:plusIsSpace:)`` into `output`, which has
    /// room for `bytes.count` bytes (decoding never lengthens); returns the count written.
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, plusIsSpace: Bool, into output: UnsafeMutablePointer<UInt8>) -> Int {
        var read = 0
        var written = 0
        let count = bytes.count
        while read < count {
            let byte = bytes[read]
            read += 1
            if byte == UInt8(ascii: "%"), read + 1 < count, let high = hex(bytes[read]), let low = hex(bytes[read + 1]) {
                output[written] = high << 4 | low
                read += 2
            } else {
                output[written] = plusIsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte
            }
            written += 1
        }
        return written
    }

    /// Decodes like ``decodeBytes(_:plusIsSpace:)`` into text (invalid UTF-8 becomes U+FFFD);
    /// for display only, never for bytes handed to a plugin.
    static func decode<S: StringProtocol>(_ text: S, plusIsSpace: Bool = false) -> String {
        String(decoding: decodeBytes(text.utf8, plusIsSpace: plusIsSpace), as: UTF8.self)
    }

    private static func hex(_ byte: UInt8) -> UInt8? { HexDigit.value(byte) }
}
