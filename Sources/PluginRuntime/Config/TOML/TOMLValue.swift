/// A value as TOML 1.0 defines it, with its dates and times kept apart from strings.
///
/// The parser produces these; ``configValue`` turns them into the runtime's
/// ``ConfigValue``, and toml-test's typed JSON can be written from them.
indirect enum TOMLValue: Equatable, Sendable {
    /// A string of any of the four kinds, escapes resolved.
    case string(String)
    /// A 64-bit signed integer.
    case integer(Int64)
    /// A binary64 float, including infinities and NaN.
    case float(Double)
    /// `true` or `false`.
    case boolean(Bool)
    /// A date and time with an offset from UTC in minutes (`1979-05-27T07:32:00-07:00`).
    case offsetDateTime(TOMLDate, TOMLTime, offsetMinutes: Int)
    /// A date and time without offset (`1979-05-27T07:32:00`).
    case localDateTime(TOMLDate, TOMLTime)
    /// A date alone (`1979-05-27`).
    case localDate(TOMLDate)
    /// A time of day alone (`07:32:00`).
    case localTime(TOMLTime)
    /// An array; TOML 1.0 allows elements of mixed kinds.
    case array([TOMLValue])
    /// A table (standard, inline, or an element of an array of tables).
    case table([String: TOMLValue])

    /// The value for the runtime: dates and times become their RFC 3339 text (see ``dateTimeText``).
    var configValue: ConfigValue {
        switch self {
        case .string(let text): .string(text)
        case .integer(let number): .integer(number)
        case .float(let number): .double(number)
        case .boolean(let flag): .bool(flag)
        case .offsetDateTime, .localDateTime, .localDate, .localTime: .string(dateTimeText ?? "")
        case .array(let elements): .array(elements.map(\.configValue))
        case .table(let entries): .table(entries.mapValues(\.configValue))
        }
    }

    /// A date or time as normalized RFC 3339 text, or nil for other kinds.
    ///
    /// Upper-case `T` between date and time, fraction digits without trailing
    /// zeros, and `Z` for a zero offset: `1979-05-27T00:32:00.999999-07:00`.
    var dateTimeText: String? {
        switch self {
        case .offsetDateTime(let date, let time, let minutes): "\(date)T\(time)\(TOMLTime.offsetText(minutes))"
        case .localDateTime(let date, let time): "\(date)T\(time)"
        case .localDate(let date): date.description
        case .localTime(let time): time.description
        default: nil
        }
    }

    /// The name toml-test's typed JSON gives this kind of value (`"integer"`, `"datetime-local"`, …).
    var typeName: String {
        switch self {
        case .string: "string"
        case .integer: "integer"
        case .float: "float"
        case .boolean: "bool"
        case .offsetDateTime: "datetime"
        case .localDateTime: "datetime-local"
        case .localDate: "date-local"
        case .localTime: "time-local"
        case .array: "array"
        case .table: "table"
        }
    }
}
