/// A calendar date of a TOML date or date-time, already checked to exist.
struct TOMLDate: Hashable, Sendable, CustomStringConvertible {
    /// The year, 0 to 9999.
    let year: Int
    /// The month, 1 to 12.
    let month: Int
    /// The day of the month, 1 to the month's length.
    let day: Int

    /// The date when it exists (leap years included), else nil.
    init?(year: Int, month: Int, day: Int) {
        guard (0...9999).contains(year), (1...12).contains(month),
              day >= 1, day <= Self.daysIn(month: month, year: year) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// `YYYY-MM-DD`.
    var description: String { "\(TOMLTime.padded(year, 4))-\(TOMLTime.padded(month, 2))-\(TOMLTime.padded(day, 2))" }

    /// The number of days of `month` (1–12) in `year` of the proleptic Gregorian calendar.
    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

/// A time of day of a TOML time or date-time, already checked to be in range.
struct TOMLTime: Hashable, Sendable, CustomStringConvertible {
    /// The hour, 0 to 23.
    let hour: Int
    /// The minute, 0 to 59.
    let minute: Int
    /// The second, 0 to 60 (RFC 3339 allows a leap second).
    let second: Int
    /// The digits after the decimal point, at most 9 (nanoseconds) and without trailing zeros; often empty.
    let fraction: String

    /// The time when every field is in range, else nil; `fraction` is cut to 9 digits and trailing zeros dropped.
    init?(hour: Int, minute: Int, second: Int, fraction: String) {
        guard (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second),
              fraction.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        self.hour = hour
        self.minute = minute
        self.second = second
        var digits = Substring(fraction.prefix(9))
        while digits.last == "0" { digits = digits.dropLast() }
        self.fraction = String(digits)
    }

    /// `HH:MM:SS` or `HH:MM:SS.fraction`.
    var description: String {
        let whole = "\(Self.padded(hour, 2)):\(Self.padded(minute, 2)):\(Self.padded(second, 2))"
        return fraction.isEmpty ? whole : whole + "." + fraction
    }

    /// `Z` for a zero offset, else `+HH:MM` or `-HH:MM`.
    static func offsetText(_ minutes: Int) -> String {
        guard minutes != 0 else { return "Z" }
        let size = minutes.magnitude
        return (minutes < 0 ? "-" : "+") + padded(Int(size / 60), 2) + ":" + padded(Int(size % 60), 2)
    }

    /// `number` (not negative) with leading zeros up to `width` digits.
    static func padded(_ number: Int, _ width: Int) -> String {
        let digits = String(number)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
