/// The one check of a multi-byte UTF-8 sequence that the host's readers of hostile
/// text share (TOML files, JSON bodies and results).
public enum UTF8Sequence {
    /// The length (2–4) of the well-formed UTF-8 sequence starting at `index` (a byte of
    /// 0x80 or more), or nil. Refuses overlong forms, surrogates (U+D800–U+DFFF),
    /// scalars above U+10FFFF and sequences cut short by the end of `bytes`.
    public static func length<Bytes: RandomAccessCollection<UInt8>>(in bytes: Bytes, at index: Bytes.Index) -> Int? {
        let lead = bytes[index]
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: return nil
        }
        guard bytes.distance(from: index, to: bytes.endIndex) >= length else { return nil }
        let second = bytes[bytes.index(after: index)]
        guard second >= low && second <= high else { return nil }
        for offset in 2..<length where bytes[bytes.index(index, offsetBy: offset)] & 0xC0 != 0x80 {
            return nil
        }
        return length
    }
}
