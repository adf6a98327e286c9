public import CPluginABI
public import PluginRuntime

/// A typed value: a parsed endpoint parameter, a request property or a typed endpoint's result.
public enum TypedValue: Equatable, Sendable {
    /// C `bool`.
    case bool(Bool)
    /// C `int32_t`.
    case int32(Int32)
    /// C `int64_t`.
    case int64(Int64)
    /// C `uint64_t`.
    case uint64(UInt64)
    /// C `double`.
    case double(Double)
    /// A NUL-terminated UTF-8 string.
    case string(String)
    /// A byte span.
    case bytes([UInt8])
    /// A JSON document's text (ABI 1.3), checked well-formed before it is made.
    case json([UInt8])
    /// No value (a void result).
    case void

    /// Parses `bytes` as `type`; the error says what was expected.
    static func parse(_ bytes: [UInt8], as type: ph_type_t) -> Result<TypedValue, ParseError> {
        bytes.withUnsafeBufferPointer { parse($0, as: type) }
    }

    /// Parses `bytes` (a request's, in place) as `type`; the error says what was expected.
    /// Integers of up to 18 digits are read from the bytes without making a `String`.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, as type: ph_type_t) -> Result<TypedValue, ParseError> {
        if type == ph_type_t(PH_TYPE_INT64), let number = Self.plainInteger(bytes) { return .success(.int64(number)) }
        if type == ph_type_t(PH_TYPE_INT32), let number = Self.plainInteger(bytes), let narrow = Int32(exactly: number) {
            return .success(.int32(narrow))
        }
        if type == ph_type_t(PH_TYPE_UINT64), bytes.first != UInt8(ascii: "-"), let number = Self.plainInteger(bytes) {
            return .success(.uint64(UInt64(number)))
        }
        let text = String(decoding: bytes, as: UTF8.self)
        switch type {
        case ph_type_t(PH_TYPE_BOOL):
            switch text.lowercased() {
            case "true", "1": return .success(.bool(true))
            case "false", "0": return .success(.bool(false))
            default: return .failure(ParseError("expected true or false, got '\(text)'"))
            }
        case ph_type_t(PH_TYPE_INT32):
            guard let wide = Int64(text) else { return .failure(ParseError("expected an integer, got '\(text)'")) }
            guard let value = Int32(exactly: wide) else {
                return .failure(ParseError("\(text) is out of range for a 32-bit integer (\(Int32.min)…\(Int32.max))"))
            }
            return .success(.int32(value))
        case ph_type_t(PH_TYPE_INT64):
            if let value = Int64(text) { return .success(.int64(value)) }
            return .failure(ParseError(isInteger(text) ? "\(text) is out of range for a 64-bit integer" : "expected an integer, got '\(text)'"))
        case ph_type_t(PH_TYPE_UINT64):
            if let value = UInt64(text) { return .success(.uint64(value)) }
            return .failure(ParseError(isInteger(text) ? "\(text) is out of range for an unsigned 64-bit integer" : "expected a non-negative integer, got '\(text)'"))
        case ph_type_t(PH_TYPE_DOUBLE):
            guard let value = Double(text), value.isFinite else { return .failure(ParseError("expected a finite number, got '\(text)'")) }
            return .success(.double(value))
        case ph_type_t(PH_TYPE_STRING):
            guard String(validating: bytes, as: UTF8.self) != nil else { return .failure(ParseError("not valid UTF-8")) }
            guard !bytes.contains(0) else { return .failure(ParseError("contains a NUL byte")) }
            return .success(.string(text))
        case ph_type_t(PH_TYPE_BYTES):
            return .success(.bytes(Array(bytes)))
        default:
            return .failure(ParseError("unsupported type \(type)"))
        }
    }

    /// Up to 18 ASCII digits with an optional '-': cannot overflow, parsed without a String.
    private static func plainInteger(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        let negative = bytes.first == UInt8(ascii: "-")
        let digits = negative ? bytes.dropFirst() : bytes[...]
        guard !digits.isEmpty, digits.count <= 18 else { return nil }
        var value: Int64 = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        return negative ? -value : value
    }

    private static func isInteger(_ text: String) -> Bool {
        let digits = text.hasPrefix("-") || text.hasPrefix("+") ? text.dropFirst() : Substring(text)
        return !digits.isEmpty && digits.allSatisfy(\.isNumber)
    }

    /// Why a value did not parse.
    struct ParseError: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    /// The ABI type tag.
    var type: ph_type_t {
        switch self {
        case .bool: ph_type_t(PH_TYPE_BOOL)
        case .int32: ph_type_t(PH_TYPE_INT32)
        case .int64: ph_type_t(PH_TYPE_INT64)
        case .uint64: ph_type_t(PH_TYPE_UINT64)
        case .double: ph_type_t(PH_TYPE_DOUBLE)
        case .string: ph_type_t(PH_TYPE_STRING)
        case .bytes: ph_type_t(PH_TYPE_BYTES)
        case .json: ph_type_t(PH_TYPE_JSON)
        case .void: ph_type_t(PH_TYPE_VOID)
        }
    }

    /// The value in the ABI's property encoding (8-byte integers and doubles, 1-byte bools, raw text).
    var encoded: [UInt8] {
        switch self {
        case .bool(let flag): [flag ? 1 : 0]
        case .int32(let number): withUnsafeBytes(of: Int64(number)) { Array($0) }
        case .int64(let number): withUnsafeBytes(of: number) { Array($0) }
        case .uint64(let number): withUnsafeBytes(of: number) { Array($0) }
        case .double(let number): withUnsafeBytes(of: number) { Array($0) }
        case .string(let text): Array(text.utf8)
        case .bytes(let bytes), .json(let bytes): bytes
        case .void: []
        }
    }

    /// Decodes a property set through the ABI.
    static func decode(type: ph_type_t, bytes: [UInt8]) -> TypedValue? {
        func load<T>(_: T.Type) -> T? {
            bytes.count == MemoryLayout<T>.size ? bytes.withUnsafeBytes { $0.loadUnaligned(as: T.self) } : nil
        }
        switch type {
        case ph_type_t(PH_TYPE_BOOL): return bytes.count == 1 ? .bool(bytes[0] != 0) : nil
        case ph_type_t(PH_TYPE_INT32): return load(Int64.self).flatMap { Int32(exactly: $0) }.map { .int32($0) }
        case ph_type_t(PH_TYPE_INT64): return load(Int64.self).map { .int64($0) }
        case ph_type_t(PH_TYPE_UINT64): return load(UInt64.self).map { .uint64($0) }
        case ph_type_t(PH_TYPE_DOUBLE): return load(Double.self).map { .double($0) }
        case ph_type_t(PH_TYPE_STRING): return .string(String(decoding: bytes, as: UTF8.self))
        case ph_type_t(PH_TYPE_BYTES): return .bytes(bytes)
        case ph_type_t(PH_TYPE_JSON):
            // A property handed on as JSON must be JSON.
            return bytes.withUnsafeBufferPointer { (try? JSONParser.check($0)) != nil } ? .json(bytes) : nil
        default: return nil
        }
    }

    /// The value as JSON.
    public var json: String {
        switch self {
        case .bool(let flag): flag ? "true" : "false"
        case .int32(let number): String(number)
        case .int64(let number): String(number)
        case .uint64(let number): String(number)
        case .double(let number): number.isFinite ? "\(number)" : "null"
        case .string(let text): ConfigValue.jsonQuoted(text)
        case .bytes(let bytes): ConfigValue.jsonQuoted(String(decoding: bytes, as: UTF8.self))
        case .json(let bytes): String(decoding: bytes, as: UTF8.self)
        case .void: "null"
        }
    }

    /// The value as JSON text's UTF-8 (integers written straight into the bytes).
    var jsonBytes: [UInt8] {
        switch self {
        case .int64(let number): Self.decimal(number.magnitude, negative: number < 0)
        case .int32(let number): Self.decimal(UInt64(number.magnitude), negative: number < 0)
        case .uint64(let number): Self.decimal(number, negative: false)
        case .json(let bytes): bytes
        default: Array(json.utf8)
        }
    }

    private static func decimal(_ magnitude: UInt64, negative: Bool) -> [UInt8] {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 21) { scratch in
            var index = 21
            var rest = magnitude
            repeat {
                index -= 1
                scratch[index] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest != 0
            if negative {
                index -= 1
                scratch[index] = UInt8(ascii: "-")
            }
            return Array(scratch[index...])
        }
    }

    /// The name of an ABI type, for messages.
    static func name(of type: ph_type_t) -> String {
        switch type {
        case ph_type_t(PH_TYPE_VOID): "void"
        case ph_type_t(PH_TYPE_BOOL): "bool"
        case ph_type_t(PH_TYPE_INT32): "int32"
        case ph_type_t(PH_TYPE_INT64): "int64"
        case ph_type_t(PH_TYPE_UINT64): "uint64"
        case ph_type_t(PH_TYPE_DOUBLE): "double"
        case ph_type_t(PH_TYPE_STRING): "string"
        case ph_type_t(PH_TYPE_BYTES): "bytes"
        case ph_type_t(PH_TYPE_JSON): "json"
        default: "unknown type \(type)"
        }
    }
}
