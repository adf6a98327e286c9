/// Reading RFC 3339 dates and times as TOML 1.0 allows them, from a scalar token.
///
/// Forms: `1979-05-27T07:32:00Z` or with `±HH:MM` (offset date-time),
/// `1979-05-27T07:32:00` (local date-time), `1979-05-27` (local date),
/// `07:32:00` (local time). The separator may be `T`, `t` or a space; seconds
/// are required and may carry a fraction. Every field is range-checked, days
/// against the month's length in that year.
enum TOMLDateTimeParser {
    /// Whether `token` is exactly `dddd-dd-dd`, a date that a space and a time may follow.
    static func isDate(_ token: ArraySlice<UInt8>) -> Bool {
        let bytes = Array(token)
        return bytes.count == 10 && bytes[4] == UInt8(ascii: "-") && bytes[7] == UInt8(ascii: "-")
            && [0, 1, 2, 3, 5, 6, 8, 9].allSatisfy { isDigit(bytes[$0]) }
    }

    /// Whether `token` starts like a date (`dddd-`) or a time (`dd:`) rather than a number.
    static func looksLikeDateTime(_ token: ArraySlice<UInt8>) -> Bool {
        let bytes = Array(token.prefix(5))
        if bytes.count == 5, bytes[4] == UInt8(ascii: "-"), bytes[0..<4].allSatisfy(isDigit) { return true }
        return bytes.count >= 3 && bytes[2] == UInt8(ascii: ":") && bytes[0..<2].allSatisfy(isDigit)
    }

    /// The date, time or date-time `token` spells, or why it spells none.
    static func parse(_ token: ArraySlice<UInt8>) -> Result<TOMLValue, TOMLTokenProblem> {
        var reader = Reader(bytes: Array(token))
        let isTime = reader.bytes.count >= 3 && reader.bytes[2] == UInt8(ascii: ":")
        if isTime {
            return readTime(&reader).flatMap { time in
                reader.atEnd ? .success(.localTime(time)) : problem("time", "unexpected text after the time")
            }
        }
        guard let year = reader.number(4), reader.take("-"), let month = reader.number(2), reader.take("-"),
              let day = reader.number(2) else { return problem("date", "expected YYYY-MM-DD") }
        guard (1...12).contains(month) else { return problem("date", "the month must be 01 to 12") }
        guard let date = TOMLDate(year: year, month: month, day: day) else {
            return problem("date", "the day must be 01 to \(TOMLDate.daysIn(month: month, year: year)) in that month")
        }
        if reader.atEnd { return .success(.localDate(date)) }
        guard reader.take("T") || reader.take("t") || reader.take(" ") else {
            return problem("date-time", "expected 'T' or a space between the date and the time")
        }
        let time: TOMLTime
        switch readTime(&reader) {
        case .success(let value): time = value
        case .failure(let failure): return .failure(failure)
        }
        if reader.atEnd { return .success(.localDateTime(date, time)) }
        var offset = 0
        if reader.take("Z") || reader.take("z") {
            offset = 0
        } else if reader.take("+") || reader.take("-") {
            let sign = reader.previous == UInt8(ascii: "-") ? -1 : 1
            guard let hours = reader.number(2), reader.take(":"), let minutes = reader.number(2) else {
                return problem("date-time", "expected an offset 'Z' or ±HH:MM")
            }
            guard hours <= 23, minutes <= 59 else { return problem("date-time", "the offset must be -23:59 to +23:59") }
            offset = sign * (hours * 60 + minutes)
        } else {
            return problem("date-time", "expected an offset 'Z' or ±HH:MM after the time")
        }
        guard reader.atEnd else { return problem("date-time", "unexpected text after the offset") }
        return .success(.offsetDateTime(date, time, offsetMinutes: offset))
    }

    /// Reads `HH:MM:SS` with an optional `.fraction`.
    private static func readTime(_ reader: inout Reader) -> Result<TOMLTime, TOMLTokenProblem> {
        guard let hour = reader.number(2), reader.take(":"), let minute = reader.number(2), reader.take(":"),
              let second = reader.number(2) else { return problem("time", "expected HH:MM:SS (seconds are required)") }
        var fraction = ""
        if reader.take(".") {
            let start = reader.index
            while let byte = reader.current, isDigit(byte) { reader.index += 1 }
            guard reader.index > start else { return problem("time", "a digit must follow the decimal point") }
            fraction = String(decoding: reader.bytes[start..<reader.index], as: UTF8.self)
        }
        guard hour <= 23 else { return problem("time", "the hour must be 00 to 23") }
        guard minute <= 59 else { return problem("time", "the minute must be 00 to 59") }
        guard let time = TOMLTime(hour: hour, minute: minute, second: second, fraction: fraction) else {
            return problem("time", "the second must be 00 to 60")
        }
        return .success(time)
    }

    /// Whether `byte` is an ASCII digit.
    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// A failure of `kind` for `reason`.
    private static func problem<Value>(_ kind: String, _ reason: String) -> Result<Value, TOMLTokenProblem> {
        .failure(TOMLTokenProblem(kind: kind, reason: reason))
    }

    /// A read position in a token.
    private struct Reader {
        /// The token.
        let bytes: [UInt8]
        /// The next byte to read.
        var index = 0

        /// Whether the token was read to its end.
        var atEnd: Bool { index >= bytes.count }
        /// The byte at the position, or nil at the end.
        var current: UInt8? { index < bytes.count ? bytes[index] : nil }
        /// The byte before the position, or nil at the start.
        var previous: UInt8? { index > 0 && index <= bytes.count ? bytes[index - 1] : nil }

        /// Consumes `character` (ASCII) when it is next; says whether it was.
        mutating func take(_ character: Unicode.Scalar) -> Bool {
            guard current == UInt8(ascii: character) else { return false }
            index += 1
            return true
        }

        /// Reads exactly `width` digits as a number, or nil (position unchanged) when they are not there.
        mutating func number(_ width: Int) -> Int? {
            guard bytes.count - index >= width else { return nil }
            var value = 0
            for offset in 0..<width {
                let byte = bytes[index + offset]
                guard isDigit(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            index += width
            return value
        }
    }
}
