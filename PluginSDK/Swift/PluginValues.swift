import CPluginABI

/// The value types of the HTTP extension: typed-endpoint parameters and results,
/// request properties and the parameters a post-wrapper reads (`ph_type_t`).
public enum ValueKind: Sendable, Hashable, CustomStringConvertible {
    /// No value: a typed endpoint's result only (it answers `null`).
    case void
    /// C `bool`.
    case bool
    /// C `int32_t`. As a property or a parsed parameter it travels in 8 bytes (an `int64_t`);
    /// the SDK converts, you only see `Int32`.
    case int32
    /// C `int64_t`.
    case int64
    /// C `uint64_t`.
    case uint64
    /// C `double`.
    case double
    /// NUL-terminated UTF-8 text.
    case string
    /// Exact bytes, NULs included. Not a result type.
    case bytes
    /// A JSON document's text (ABI 1.3): a body parameter the host checked, or a result.
    case json

    init?(_ raw: ph_type_t) {
        switch raw {
        case ph_type_t(PH_TYPE_VOID): self = .void
        case ph_type_t(PH_TYPE_BOOL): self = .bool
        case ph_type_t(PH_TYPE_INT32): self = .int32
        case ph_type_t(PH_TYPE_INT64): self = .int64
        case ph_type_t(PH_TYPE_UINT64): self = .uint64
        case ph_type_t(PH_TYPE_DOUBLE): self = .double
        case ph_type_t(PH_TYPE_STRING): self = .string
        case ph_type_t(PH_TYPE_BYTES): self = .bytes
        case ph_type_t(PH_TYPE_JSON): self = .json
        default: return nil
        }
    }

    var raw: ph_type_t {
        switch self {
        case .void: ph_type_t(PH_TYPE_VOID)
        case .bool: ph_type_t(PH_TYPE_BOOL)
        case .int32: ph_type_t(PH_TYPE_INT32)
        case .int64: ph_type_t(PH_TYPE_INT64)
        case .uint64: ph_type_t(PH_TYPE_UINT64)
        case .double: ph_type_t(PH_TYPE_DOUBLE)
        case .string: ph_type_t(PH_TYPE_STRING)
        case .bytes: ph_type_t(PH_TYPE_BYTES)
        case .json: ph_type_t(PH_TYPE_JSON)
        }
    }

    /// `bool`, `int32`, …, as the host names types in its messages.
    public var description: String {
        switch self {
        case .void: "void"
        case .bool: "bool"
        case .int32: "int32"
        case .int64: "int64"
        case .uint64: "uint64"
        case .double: "double"
        case .string: "string"
        case .bytes: "bytes"
        case .json: "json"
        }
    }
}

/// One typed value: a request property, a parsed typed-endpoint parameter, or an argument
/// of a typed endpoint.
///
/// ```swift
/// // fragment: statements
/// try exchange.setProperty("attempts", .int32(3))
/// if case .int32(let attempts)? = exchange.propertyValue("attempts") { print(attempts) }
/// ```
public enum TypedValue: Sendable, Hashable {
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
    /// UTF-8 text.
    case string(String)
    /// Exact bytes.
    case bytes([UInt8])
    /// A JSON document's text (a well-formed document when the host hands it over).
    case json([UInt8])

    /// The value's type.
    public var kind: ValueKind {
        switch self {
        case .bool: .bool
        case .int32: .int32
        case .int64: .int64
        case .uint64: .uint64
        case .double: .double
        case .string: .string
        case .bytes: .bytes
        case .json: .json
        }
    }

    /// Reads the encoding of `get_property` and `param`: BOOL in 1 byte, INT32 (sign-extended),
    /// INT64, UINT64 and DOUBLE in 8 bytes of host byte order, STRING, BYTES and JSON as their bytes.
    /// Nil for a length that does not fit the type, or an unknown type.
    init?(type: ph_type_t, bytes: UnsafeRawBufferPointer) {
        switch ValueKind(type) {
        case .bool?:
            guard bytes.count == 1 else { return nil }
            self = .bool(bytes[0] != 0)
        case .int32?:
            // An INT32 arrives as an int64_t; accept 4 bytes too, should a host ever hand them over.
            if bytes.count == 8, let narrow = Int32(exactly: bytes.loadUnaligned(as: Int64.self)) {
                self = .int32(narrow)
            } else if bytes.count == 4 {
                self = .int32(bytes.loadUnaligned(as: Int32.self))
            } else {
                return nil
            }
        case .int64?:
            guard bytes.count == 8 else { return nil }
            self = .int64(bytes.loadUnaligned(as: Int64.self))
        case .uint64?:
            guard bytes.count == 8 else { return nil }
            self = .uint64(bytes.loadUnaligned(as: UInt64.self))
        case .double?:
            guard bytes.count == 8 else { return nil }
            self = .double(bytes.loadUnaligned(as: Double.self))
        case .string?:
            self = .string(String(decoding: bytes, as: UTF8.self))
        case .bytes?:
            self = .bytes(Array(bytes))
        case .json?:
            self = .json(Array(bytes))
        case .void?, nil:
            return nil
        }
    }

    /// Calls `body` with the value in `set_property`'s encoding (an INT32 as 8 bytes).
    func withEncoding<R>(_ body: (ph_type_t, UnsafeRawBufferPointer) -> R) -> R {
        switch self {
        case .bool(let flag): withUnsafeBytes(of: UInt8(flag ? 1 : 0)) { body(kind.raw, $0) }
        case .int32(let number): withUnsafeBytes(of: Int64(number)) { body(kind.raw, $0) }
        case .int64(let number): withUnsafeBytes(of: number) { body(kind.raw, $0) }
        case .uint64(let number): withUnsafeBytes(of: number) { body(kind.raw, $0) }
        case .double(let number): withUnsafeBytes(of: number) { body(kind.raw, $0) }
        case .string(let text): Array(text.utf8).withUnsafeBytes { body(kind.raw, $0) }
        case .bytes(let bytes), .json(let bytes): bytes.withUnsafeBytes { body(kind.raw, $0) }
        }
    }
}

/// A Swift type that stands for one ``ValueKind``: what a typed-endpoint parameter, a
/// request property or a parsed parameter can be read as.
///
/// `Bool`, `Int32`, `Int64`, `UInt64`, `Double`, `String` and `[UInt8]` conform. A type of
/// your own may conform too (say an `OrderID` read from an `int64`); its `init?(_:)` should
/// accept every value of its ``valueKind``: a typed endpoint whose argument it refuses
/// answers its result type's zero (or `null`) and logs the refusal.
public protocol TypedValueConvertible {
    /// The type the host parses and checks the value as.
    static var valueKind: ValueKind { get }
    /// The Swift value of `value`, or nil when it has another type. The built-in conformances
    /// take the lossless conversions too: `Int32` from an `int64` in range, `Int64` from an
    /// `int32`, `UInt64` from a non-negative `int64`, `[UInt8]` from a `string`'s UTF-8.
    init?(_ value: TypedValue)
    /// The value as a ``TypedValue`` of ``valueKind``.
    var typedValue: TypedValue { get }
}

extension Bool: TypedValueConvertible {
    public static var valueKind: ValueKind { .bool }
    public init?(_ value: TypedValue) {
        guard case .bool(let flag) = value else { return nil }
        self = flag
    }
    public var typedValue: TypedValue { .bool(self) }
}

extension Int32: TypedValueConvertible {
    public static var valueKind: ValueKind { .int32 }
    public init?(_ value: TypedValue) {
        switch value {
        case .int32(let number): self = number
        case .int64(let number):
            guard let narrow = Int32(exactly: number) else { return nil }
            self = narrow
        default: return nil
        }
    }
    public var typedValue: TypedValue { .int32(self) }
}

extension Int64: TypedValueConvertible {
    public static var valueKind: ValueKind { .int64 }
    public init?(_ value: TypedValue) {
        switch value {
        case .int64(let number): self = number
        case .int32(let number): self = Int64(number)
        default: return nil
        }
    }
    public var typedValue: TypedValue { .int64(self) }
}

extension UInt64: TypedValueConvertible {
    public static var valueKind: ValueKind { .uint64 }
    public init?(_ value: TypedValue) {
        switch value {
        case .uint64(let number): self = number
        case .int64(let number):
            guard number >= 0 else { return nil }
            self = UInt64(number)
        default: return nil
        }
    }
    public var typedValue: TypedValue { .uint64(self) }
}

extension Double: TypedValueConvertible {
    public static var valueKind: ValueKind { .double }
    public init?(_ value: TypedValue) {
        guard case .double(let number) = value else { return nil }
        self = number
    }
    public var typedValue: TypedValue { .double(self) }
}

extension String: TypedValueConvertible {
    public static var valueKind: ValueKind { .string }
    public init?(_ value: TypedValue) {
        guard case .string(let text) = value else { return nil }
        self = text
    }
    public var typedValue: TypedValue { .string(self) }
}

extension Array: TypedValueConvertible where Element == UInt8 {
    public static var valueKind: ValueKind { .bytes }
    public init?(_ value: TypedValue) {
        switch value {
        case .bytes(let bytes): self = bytes
        case .string(let text): self = Array(text.utf8)
        default: return nil
        }
    }
    public var typedValue: TypedValue { .bytes(self) }
}
