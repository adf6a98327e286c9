#if canImport(Glibc)
import Glibc
#endif

/// The `Date` header's value (RFC 9110 IMF-fixdate), formatted once per second:
/// one per connection handler, used on its event loop only.
struct DateHeaderCache {
    private var second = -1
    private var text = ""

    /// The current date.
    mutating func current() -> String {
        let now = time(nil)
        if now != second {
            second = now
            text = Self.format(now)
        }
        return text
    }

    private static func format(_ second: Int) -> String {
        var seconds = time_t(second)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
