/// Reading TOML integers and floats from a scalar token (see ``TOMLParser/isScalarByte(_:)``).
///
/// Integers: decimal with an optional sign and no leading zero, or `0x`, `0o`,
/// `0b` without sign; underscores only between two digits; out of the Int64
/// range is an error. Floats: a decimal integer part, then a fraction, an
/// exponent or both, or `inf` / `nan` with an optional sign; a float whose
/// magnitude overflows binary64 is an error.
enum TOMLNumberParser {
    /// The value `token` spells, or why it spells none.
    static func parse(_ token: ArraySlice<UInt8>) -> Result<TOMLValue, TOMLTokenProblem> {
        let bytes = Array(token)
        var start = 0
        var negative = false
        if let sign = bytes.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            negative = sign == UInt8(ascii: "-")
            start = 1
        }
        switch String(decoding: bytes[start...], as: UTF8.self) {
        case "inf": return .success(.float(negative ? -.infinity : .infinity))
        case "nan": return .success(.float(negative ? -.nan : .nan))
        default: break
        }
        let prefixes: [(UInt8, Int)] = [(UInt8(ascii: "x"), 16), (UInt8(ascii: "o"), 8), (UInt8(ascii: "b"), 2)]
        if bytes.count - start >= 2, bytes[start] == UInt8(ascii: "0"),
           let radix = prefixes.first(where: { $0.0 == bytes[start + 1] })?.1 {
            guard start == 0 else { return problem("integer", "a sign is not allowed before 0x, 0o or 0b") }
            return parseRadix(bytes, radix: radix)
        }
        return parseDecimal(bytes, from: start, negative: negative)
    }

    /// An integer or float in decimal, its sign (if any) before `start`.
    private static func parseDecimal(_ bytes: [UInt8], from start: Int, negative: Bool) -> Result<TOMLValue, TOMLTokenProblem> {
        let whole = digitRun(bytes, from: start, radix: 10)
        if let reason = whole.problem { return problem("number", reason) }
        guard let first = whole.digits.first else {
            return problem("value", "expected a number, true, false, a date or a time")
        }
        if whole.digits.count > 1 && first == 0 { return problem("number", "leading zeros are not allowed") }
        var index = whole.end
        var fraction: [UInt8]?
        var exponent: (negative: Bool, digits: [UInt8])?
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            let run = digitRun(bytes, from: index + 1, radix: 10)
            if let reason = run.problem { return problem("float", reason) }
            guard !run.digits.isEmpty else { return problem("float", "a digit must follow the decimal point") }
            fraction = run.digits
            index = run.end
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            var negativeExponent = false
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                negativeExponent = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            let run = digitRun(bytes, from: index, radix: 10)
            if let reason = run.problem { return problem("float", reason) }
            guard !run.digits.isEmpty else { return problem("float", "the exponent needs digits") }
            exponent = (negativeExponent, run.digits)
            index = run.end
        }
        let isFloat = fraction != nil || exponent != nil
        guard index == bytes.count else {
            return problem(isFloat ? "float" : "number", "unexpected '\(String(decoding: bytes[index...].prefix(1), as: UTF8.self))'")
        }
        guard isFloat else { return integer(whole.digits, radix: 10, negative: negative) }
        var text = (negative ? "-" : "") + digitText(whole.digits)
        if let fraction { text += "." + digitText(fraction) }
        if let exponent { text += "e" + (exponent.negative ? "-" : "") + digitText(exponent.digits) }
        guard let number = Double(text), number.isFinite else { return problem("float", "out of the range of a 64-bit float") }
        return .success(.float(number))
    }

    /// `0x…`, `0o…` or `0b…`: non-negative, leading zeros allowed after the prefix.
    private static func parseRadix(_ bytes: [UInt8], radix: Int) -> Result<TOMLValue, TOMLTokenProblem> {
        let run = digitRun(bytes, from: 2, radix: radix)
        if let reason = run.problem { return problem("integer", reason) }
        guard run.end == bytes.count else {
            return problem("integer", "'\(String(decoding: bytes[run.end...].prefix(1), as: UTF8.self))' is not a base-\(radix) digit")
        }
        guard !run.digits.isEmpty else { return problem("integer", "expected digits after the prefix") }
        return integer(run.digits, radix: radix, negative: false)
    }

    /// The integer of `digits` (values, most significant first), or an error when it leaves the Int64 range.
    private static func integer(_ digits: [UInt8], radix: Int, negative: Bool) -> Result<TOMLValue, TOMLTokenProblem> {
        var value: Int64 = 0
        for digit in digits {
            let (scaled, overflowScaling) = value.multipliedReportingOverflow(by: Int64(radix))
            let (next, overflowAdding) = negative
                ? scaled.subtractingReportingOverflow(Int64(digit))
                : scaled.addingReportingOverflow(Int64(digit))
            guard !overflowScaling, !overflowAdding else {
                return problem("integer", "out of the 64-bit range (\(Int64.min) to \(Int64.max))")
            }
            value = next
        }
        return .success(.integer(value))
    }

    /// The digits (as values) from `start` up to the first byte that is neither a digit nor an underscore between digits.
    private static func digitRun(_ bytes: [UInt8], from start: Int, radix: Int) -> (digits: [UInt8], end: Int, problem: String?) {
        var digits: [UInt8] = []
        var index = start
        while index < bytes.count {
            if let digit = digitValue(bytes[index], radix: radix) {
                digits.append(digit)
            } else if bytes[index] == UInt8(ascii: "_") {
                let next = index + 1 < bytes.count ? bytes[index + 1] : nil
                guard !digits.isEmpty, let next, digitValue(next, radix: radix) != nil else {
                    return (digits, index, "an underscore must sit between two digits")
                }
            } else {
                break
            }
            index += 1
        }
        return (digits, index, nil)
    }

    /// The value of `byte` as a digit of `radix` (2, 8, 10 or 16), or nil.
    static func digitValue(_ byte: UInt8, radix: Int) -> UInt8? {
        let value: UInt8
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): value = byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): value = byte - UInt8(ascii: "A") + 10
        default: return nil
        }
        return Int(value) < radix ? value : nil
    }

    /// Decimal digit values as text.
    private static func digitText(_ digits: [UInt8]) -> String {
        String(decoding: digits.map { $0 + UInt8(ascii: "0") }, as: UTF8.self)
    }

    /// A failure of `kind` for `reason`.
    private static func problem(_ kind: String, _ reason: String) -> Result<TOMLValue, TOMLTokenProblem> {
        .failure(TOMLTokenProblem(kind: kind, reason: reason))
    }
}
