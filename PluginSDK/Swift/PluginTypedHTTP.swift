import CPluginABI
#if canImport(Glibc)
import Glibc
#endif

/// Where a typed-endpoint parameter's value comes from (`ph_source_t`).
public enum ParameterSource: Sendable, Hashable, CustomStringConvertible {
    /// A `:name` segment of the path pattern.
    case path
    /// The query parameter `name`.
    case query
    /// The request header `name` (case-insensitive).
    case header
    /// The whole request body, not trimmed (a body `42\n` is not an integer).
    case body
    /// Not read from the request: the request property `name`, set by a wrapper in front
    /// (say the user an auth wrapper found; `PH_SOURCE_PLUGIN`). Missing, the request is a 500.
    case property

    init?(_ raw: ph_source_t) {
        switch raw {
        case ph_source_t(PH_SOURCE_PATH): self = .path
        case ph_source_t(PH_SOURCE_QUERY): self = .query
        case ph_source_t(PH_SOURCE_HEADER): self = .header
        case ph_source_t(PH_SOURCE_BODY): self = .body
        case ph_source_t(PH_SOURCE_PLUGIN): self = .property
        default: return nil
        }
    }

    var raw: ph_source_t {
        switch self {
        case .path: ph_source_t(PH_SOURCE_PATH)
        case .query: ph_source_t(PH_SOURCE_QUERY)
        case .header: ph_source_t(PH_SOURCE_HEADER)
        case .body: ph_source_t(PH_SOURCE_BODY)
        case .property: ph_source_t(PH_SOURCE_PLUGIN)
        }
    }

    public var description: String {
        switch self {
        case .path: "path"
        case .query: "query"
        case .header: "header"
        case .body: "body"
        case .property: "property"
        }
    }
}

/// One parameter of a typed endpoint: its name, where it comes from, and (through `Value`)
/// the type the host parses it as. Write them with the static functions:
/// `.int64("a", from: .path)`, `.string("user", from: .property)`, `.bytes("data", from: .body)`.
public struct TypedParameter<Value: TypedValueConvertible>: Sendable {
    /// The path capture, query key, header, property key; for the body, any name.
    public let name: String
    /// Where the value comes from.
    public let source: ParameterSource

    /// A parameter of type `Value` (any ``TypedValueConvertible`` type, yours included).
    public init(_ name: String, from source: ParameterSource, as type: Value.Type = Value.self) {
        self.name = name
        self.source = source
    }

    var info: EndpointInfo.Parameter { EndpointInfo.Parameter(name: name, source: source, kind: Value.valueKind) }
}

extension TypedParameter where Value == Bool {
    /// A `bool` parameter: `true`, `false`, `1`, `0`, in any case.
    public static func bool(_ name: String, from source: ParameterSource) -> Self { Self(name, from: source) }
}

extension TypedParameter where Value == Int32 {
    /// An `int32` parameter; a value out of range is a 400.
    public static func int32(_ name: String, from source: ParameterSource) -> Self { Self(name, from: source) }
}

extension TypedParameter where Value == Int64 {
    /// An `int64` parameter.
    public static func int64(_ name: String, from source: ParameterSource) -> Self { Self(name, from: source) }
}

extension TypedParameter where Value == UInt64 {
    /// A `uint64` parameter (no `-`).
    public static func uint64(_ name: String, from source: ParameterSource) -> Self { Self(name, from: source) }
}

extension TypedParameter where Value == Double {
    /// A `double` parameter: finite decimal numbers only.
    public static func double(_ name: String, from source: ParameterSource) -> Self { Self(name, from: source) }
}

extension TypedParameter where Value == String {
    /// A `string` parameter: UTF-8 without NUL, else a 400.
    public static func string(_ name: String, from source: ParameterSource) -> Self { Self(name, from: source) }
}

extension TypedParameter where Value == [UInt8] {
    /// A `bytes` parameter: the exact (percent-decoded) bytes, NULs included.
    public static func bytes(_ name: String, from source: ParameterSource) -> Self { Self(name, from: source) }
}

/// What a typed endpoint's handler may return: the host encodes it as JSON.
///
/// `Bool`, `Int32`, `Int64`, `UInt64`, `Double`, `String`, and `String?` or `Double?`
/// (`nil` answers `null`) conform; a handler returning nothing answers `null`.
public protocol TypedResult {
    /// The C result type.
    static var resultKind: ValueKind { get }
    /// Whether the result can be `null` (a `string` or `double` result only).
    static var isNullable: Bool { get }
    /// The value, or nil for `null`.
    var resultValue: TypedValue? { get }
}

extension TypedResult {
    public static var isNullable: Bool { false }
}

extension TypedResult where Self: TypedValueConvertible {
    public static var resultKind: ValueKind { valueKind }
    public var resultValue: TypedValue? { typedValue }
}

extension Bool: TypedResult {}
extension Int32: TypedResult {}
extension Int64: TypedResult {}
extension UInt64: TypedResult {}
/// A NaN or infinite double is answered `null`.
extension Double: TypedResult {}
extension String: TypedResult {}

extension Optional: TypedResult where Wrapped: TypedResult {
    public static var resultKind: ValueKind { Wrapped.resultKind }
    public static var isNullable: Bool { true }
    public var resultValue: TypedValue? { self?.resultValue }
}

extension HTTPRegistrar {
    /// Registers a typed endpoint: the host parses and checks each parameter from the request
    /// (a value that does not parse, or a missing one, is a 400 naming it, before your code
    /// runs), calls `handler` with the values as Swift types, and answers its result as JSON
    /// with status 200.
    ///
    /// ```swift
    /// // fragment: statements
    /// try http.typedEndpoint("GET", "/calc/add/:a/:b",
    ///                        parameters: .int64("a", from: .path), .int64("b", from: .path)) { a, b in
    ///     a &+ b
    /// }
    /// ```
    ///
    /// `GET /calc/add/2/40` answers `42`; `GET /calc/add/2/x` answers 400 without calling
    /// `handler`. Wrappers see the endpoint as typed, with its parameters
    /// (``EndpointInfo``), and a post-wrapper can read the parsed values with
    /// ``HTTPExchange/parameter(_:)``.
    ///
    /// A typed endpoint cannot fail: validation is the host's, and the handler does not throw.
    /// To answer an error status, register a raw ``endpoint(_:_:_:)`` instead. `handler` runs
    /// on a host thread serving the request (the event loop with ``PluginInfo/neverBlocks``, else the host's blocking pool) (under the plugin's lock unless it is thread-safe).
    ///
    /// The SDK builds a C function of the exact signature for the host to call, with libffi's
    /// closures (libffi is loaded in every host that serves typed endpoints).
    /// - Parameters:
    ///   - method: "GET", "POST", … (upper case).
    ///   - path: The path pattern; `:name` segments are captures.
    ///   - parameters: At most 16, in the order `handler` takes them; at most one from the body.
    ///   - handler: Takes the values, returns the result.
    /// - Throws: When the host refuses the signature or the path, or libffi is not available.
    public func typedEndpoint<each Value: TypedValueConvertible, Result: TypedResult>(
        _ method: String, _ path: String, parameters: repeat TypedParameter<each Value>,
        handler: @escaping (repeat each Value) -> Result
    ) throws {
        let infos = Self.infos(repeat each parameters)
        let resultKind = Result.resultKind
        if Result.isNullable && resultKind != .string && resultKind != .double {
            throw PluginFailure("\(method) \(path): a \(resultKind) result cannot be null (only string and double results can)")
        }
        // Weak: the endpoint's box lives in the host's handlers, and a strong capture would be
        // a cycle (it is broken at destroy anyway; the host calls no endpoint after it).
        let host = self.host
        try registerTyped(method, path, parameters: infos, result: resultKind) { [weak host] values in
            var refused = ""
            guard let arguments = Self.arguments(values, refused: &refused, as: repeat (each Value).self) else {
                host?.log(.error, "\(method) \(path): \(refused); answered the result type's zero value")
                return nil
            }
            return handler(repeat each arguments).resultValue
        }
    }

    /// Registers a typed endpoint whose handler returns nothing: it answers `null`.
    ///
    /// ```swift
    /// // fragment: statements
    /// try http.typedEndpoint("POST", "/log", parameters: .string("line", from: .body)) { (line: String) in
    ///     host.log(.info, line)
    /// }
    /// ```
    public func typedEndpoint<each Value: TypedValueConvertible>(
        _ method: String, _ path: String, parameters: repeat TypedParameter<each Value>,
        handler: @escaping (repeat each Value) -> Void
    ) throws {
        let infos = Self.infos(repeat each parameters)
        // Weak: the endpoint's box lives in the host's handlers, and a strong capture would be
        // a cycle (it is broken at destroy anyway; the host calls no endpoint after it).
        let host = self.host
        try registerTyped(method, path, parameters: infos, result: .void) { [weak host] values in
            var refused = ""
            guard let arguments = Self.arguments(values, refused: &refused, as: repeat (each Value).self) else {
                host?.log(.error, "\(method) \(path): \(refused); handler not called")
                return nil
            }
            handler(repeat each arguments)
            return nil
        }
    }

    /// The parameters' descriptions, in the handler's order.
    static func infos<each Value: TypedValueConvertible>(_ parameters: repeat TypedParameter<each Value>) -> [EndpointInfo.Parameter] {
        var infos: [EndpointInfo.Parameter] = []
        for parameter in repeat each parameters { infos.append(parameter.info) }
        return infos
    }

    /// `values` as the handler's parameter types, in order; nil (and why in `refused`) when a type refuses one.
    static func arguments<each Value: TypedValueConvertible>(
        _ values: [TypedValue], refused reason: inout String, as types: repeat (each Value).Type
    ) -> (repeat each Value)? {
        var index = 0
        var refused: String?
        func next<T: TypedValueConvertible>(_ type: T.Type) -> T? {
            defer { index += 1 }
            guard let value = T(values[index]) else {
                refused = refused ?? "\(T.self) refused argument \(index + 1) (\(values[index]))"
                return nil
            }
            return value
        }
        let converted = (repeat next(each types))
        if let refused {
            reason = refused
            return nil
        }
        return (repeat (each converted)!)
    }

    /// Registers `call` as the typed endpoint `method path` with these parameters and result.
    func registerTyped(_ method: String, _ path: String, parameters: [EndpointInfo.Parameter], result: ValueKind,
                       call: @escaping ([TypedValue]) -> TypedValue?) throws {
        guard let ffi = FFI.shared else {
            throw PluginFailure("\(method) \(path): typed endpoints need libffi, which is not loaded in this process and could not be opened")
        }
        let box = try TypedEndpointBox(ffi: ffi, parameters: parameters.map(\.kind), result: result, call: call)
        let status = method.withCString { cMethod in
            path.withCString { cPath in
                parameters.withCParameters { list in
                    var endpoint = ph_typed_endpoint_t()
                    endpoint.struct_size = UInt32(MemoryLayout<ph_typed_endpoint_t>.size)
                    endpoint.method = cMethod
                    endpoint.path = cPath
                    endpoint.function = unsafeBitCast(box.code, to: (@convention(c) () -> Void).self)
                    endpoint.params = UnsafePointer(list.baseAddress)
                    endpoint.param_count = list.count
                    endpoint.result = result.raw
                    return registering { api.pointee.register_typed_endpoint(host.raw, &endpoint, $0) }
                }
            }
        }
        try check(status)
        host.retain(box)
    }
}

extension Array where Element == EndpointInfo.Parameter {
    /// The parameters as `ph_param_t`s, their names C strings that live while `body` runs.
    func withCParameters<R>(_ body: (UnsafeMutableBufferPointer<ph_param_t>) -> R) -> R {
        let names = map { strdup($0.name) }
        defer { names.forEach { free($0) } }
        var params = zip(self, names).map { parameter, name in
            ph_param_t(name: UnsafePointer(name), source: parameter.source.raw, type: parameter.kind.raw)
        }
        return params.withUnsafeMutableBufferPointer { body($0) }
    }
}

/// One typed endpoint's C function: a libffi closure of the endpoint's exact signature that
/// decodes the arguments, calls the Swift handler, and stores the result.
final class TypedEndpointBox {
    let ffi: FFI
    let kinds: [ValueKind]
    let result: ValueKind
    let call: ([TypedValue]) -> TypedValue?
    private let cif: UnsafeMutableRawPointer
    private let argumentTypes: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    private let closure: UnsafeMutableRawPointer
    /// The closure's executable address: the C function the host calls.
    let code: UnsafeMutableRawPointer

    init(ffi: FFI, parameters: [ValueKind], result: ValueKind, call: @escaping ([TypedValue]) -> TypedValue?) throws {
        self.ffi = ffi
        self.kinds = parameters
        self.result = result
        self.call = call
        var types: [UnsafeMutableRawPointer] = []
        for kind in parameters {
            guard kind != .void else { throw PluginFailure("a parameter cannot be void") }
            types.append(ffi.type(kind))
            if kind == .bytes || kind == .json { types.append(ffi.uint64) }  // the length, a size_t
        }
        guard result != .bytes, result != .json else { throw PluginFailure("result type bytes cannot be returned (use string, a number, bool or void)") }
        cif = .allocate(byteCount: FFI.cifSize, alignment: 16)
        cif.initializeMemory(as: UInt8.self, repeating: 0, count: FFI.cifSize)
        argumentTypes = .allocate(capacity: max(types.count, 1))
        argumentTypes.initialize(repeating: nil, count: max(types.count, 1))
        for (index, type) in types.enumerated() { argumentTypes[index] = type }
        var code: UnsafeMutableRawPointer?
        guard let closure = ffi.closureAlloc(FFI.closureSize, &code), let code else {
            cif.deallocate()
            argumentTypes.deallocate()
            throw PluginFailure("libffi could not allocate a closure")
        }
        self.closure = closure
        self.code = code
        var status = ffi.prepCIF(cif, FFI.defaultABI, UInt32(types.count), ffi.type(result), argumentTypes)
        if status == 0 {
            status = ffi.prepClosureLoc(closure, cif, { _, returned, arguments, userData in
                Unmanaged<TypedEndpointBox>.fromOpaque(userData!).takeUnretainedValue().invoke(arguments!, returned!)
            }, Unmanaged.passUnretained(self).toOpaque(), code)
        }
        // Every member is set by now: throwing runs deinit, which frees the closure and the cif.
        guard status == 0 else { throw PluginFailure("libffi cannot prepare this signature (status \(status))") }
    }

    deinit {
        ffi.closureFree(closure)
        cif.deallocate()
        argumentTypes.deallocate()
    }

    /// Called by libffi: `arguments[i]` points at the i-th C argument; `returned` takes the result
    /// (integers narrower than a register are stored register-wide, as libffi requires).
    func invoke(_ arguments: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ returned: UnsafeMutableRawPointer) {
        var values: [TypedValue] = []
        values.reserveCapacity(kinds.count)
        var slot = 0
        for kind in kinds {
            let argument = arguments[slot]!
            slot += 1
            switch kind {
            case .bool: values.append(.bool(argument.load(as: UInt8.self) != 0))
            case .int32: values.append(.int32(argument.load(as: Int32.self)))
            case .int64: values.append(.int64(argument.load(as: Int64.self)))
            case .uint64: values.append(.uint64(argument.load(as: UInt64.self)))
            case .double: values.append(.double(argument.load(as: Double.self)))
            case .string:
                let text = argument.load(as: UnsafePointer<CChar>?.self)
                values.append(.string(text.map { String(cString: $0) } ?? ""))
            case .bytes:
                let data = argument.load(as: UnsafePointer<UInt8>?.self)
                let length = Int(arguments[slot]!.load(as: UInt64.self))
                slot += 1
                values.append(.bytes(data.map { Array(UnsafeBufferPointer(start: $0, count: length)) } ?? []))
            case .json:
                let data = argument.load(as: UnsafePointer<UInt8>?.self)
                let length = Int(arguments[slot]!.load(as: UInt64.self))
                slot += 1
                values.append(.json(data.map { Array(UnsafeBufferPointer(start: $0, count: length)) } ?? []))
            case .void: break
            }
        }
        let value = call(values)
        switch result {
        case .void, .bytes, .json: break
        case .bool:
            let flag: Bool = if case .bool(let flag)? = value { flag } else { false }
            returned.storeBytes(of: UInt64(flag ? 1 : 0), as: UInt64.self)
        case .int32:
            let number: Int32 = if case .int32(let number)? = value { number } else { 0 }
            returned.storeBytes(of: Int64(number), as: Int64.self)
        case .int64:
            let number: Int64 = if case .int64(let number)? = value { number } else { 0 }
            returned.storeBytes(of: number, as: Int64.self)
        case .uint64:
            let number: UInt64 = if case .uint64(let number)? = value { number } else { 0 }
            returned.storeBytes(of: number, as: UInt64.self)
        case .double:
            // NaN answers `null`.
            let number: Double = if case .double(let number)? = value { number } else { .nan }
            returned.storeBytes(of: number, as: Double.self)
        case .string:
            if case .string(let text)? = value {
                returned.storeBytes(of: StringResults.keep(text), as: UnsafePointer<CChar>?.self)
            } else {
                returned.storeBytes(of: nil, as: UnsafePointer<CChar>?.self)
            }
        }
    }
}

/// String results: a C string that stays valid until the same thread calls into the plugin
/// again (what `PH_TYPE_STRING` results require): one per thread, replaced by the next.
enum StringResults {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { free($0) }
        return key
    }()

    static func keep(_ text: String) -> UnsafePointer<CChar>? {
        if let previous = pthread_getspecific(key) { free(previous) }
        let copy = strdup(text)
        pthread_setspecific(key, copy)
        return UnsafePointer(copy)
    }
}

/// The few libffi functions typed endpoints need, found at run time in the host process
/// (which links libffi to call typed endpoints), so the SDK needs neither libffi's headers
/// nor a link flag.
struct FFI: @unchecked Sendable {
    // @unchecked Sendable: C function pointers and addresses of libffi's immutable type descriptors.
    typealias Handler = @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?,
                                        UnsafeMutablePointer<UnsafeMutableRawPointer?>?, UnsafeMutableRawPointer?) -> Void
    typealias PrepCIF = @convention(c) (UnsafeMutableRawPointer?, UInt32, UInt32, UnsafeMutableRawPointer?,
                                        UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> UInt32
    typealias ClosureAlloc = @convention(c) (Int, UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> UnsafeMutableRawPointer?
    typealias ClosureFree = @convention(c) (UnsafeMutableRawPointer?) -> Void
    typealias PrepClosureLoc = @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, Handler?,
                                               UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> UInt32
    /// `ffi_prep_cif(cif, abi, nargs, rtype, atypes)`.
    let prepCIF: PrepCIF
    /// `ffi_closure_alloc(size, &code)`.
    let closureAlloc: ClosureAlloc
    /// `ffi_closure_free(closure)`.
    let closureFree: ClosureFree
    /// `ffi_prep_closure_loc(closure, cif, fun, user_data, code)`.
    let prepClosureLoc: PrepClosureLoc
    let void, uint8, sint32, sint64, uint64, double, pointer: UnsafeMutableRawPointer

    /// Bytes reserved for an `ffi_cif` and an `ffi_closure`: more than either takes on any
    /// platform libffi supports (32–48 and 48–64 bytes on x86-64 and AArch64).
    static let cifSize = 128
    static let closureSize = 256

    /// `FFI_DEFAULT_ABI`: `FFI_UNIX64` on x86-64, `FFI_SYSV` on AArch64 (stable since libffi 3.0).
    #if arch(x86_64)
    static let defaultABI: UInt32 = 2
    #elseif arch(arm64)
    static let defaultABI: UInt32 = 1
    #else
    static let defaultABI: UInt32 = 0  // unknown: ffi_prep_cif answers FFI_BAD_ABI
    #endif

    static let shared: FFI? = load()

    private static func load() -> FFI? {
        var handles: [UnsafeMutableRawPointer] = []
        if let process = dlopen(nil, RTLD_NOW) { handles.append(process) }
        for name in ["libffi.so.8", "libffi.so.7", "libffi.so.6", "libffi.so"] {
            if let handle = dlopen(name, RTLD_NOW) { handles.append(handle); break }
        }
        for handle in handles {
            if let ffi = FFI(handle) { return ffi }
        }
        return nil
    }

    private init?(_ handle: UnsafeMutableRawPointer) {
        func symbol(_ name: String) -> UnsafeMutableRawPointer? { dlsym(handle, name) }
        guard let prepCIF = symbol("ffi_prep_cif"), let closureAlloc = symbol("ffi_closure_alloc"),
              let closureFree = symbol("ffi_closure_free"), let prepClosureLoc = symbol("ffi_prep_closure_loc"),
              let void = symbol("ffi_type_void"), let uint8 = symbol("ffi_type_uint8"), let sint32 = symbol("ffi_type_sint32"),
              let sint64 = symbol("ffi_type_sint64"), let uint64 = symbol("ffi_type_uint64"), let double = symbol("ffi_type_double"),
              let pointer = symbol("ffi_type_pointer") else { return nil }
        self.prepCIF = unsafeBitCast(prepCIF, to: PrepCIF.self)
        self.closureAlloc = unsafeBitCast(closureAlloc, to: ClosureAlloc.self)
        self.closureFree = unsafeBitCast(closureFree, to: ClosureFree.self)
        self.prepClosureLoc = unsafeBitCast(prepClosureLoc, to: PrepClosureLoc.self)
        (self.void, self.uint8, self.sint32, self.sint64, self.uint64, self.double, self.pointer) =
            (void, uint8, sint32, sint64, uint64, double, pointer)
    }

    /// The libffi type of a C argument or result of `kind` (the same the host uses).
    func type(_ kind: ValueKind) -> UnsafeMutableRawPointer {
        switch kind {
        case .void: void
        case .bool: uint8
        case .int32: sint32
        case .int64: sint64
        case .uint64: uint64
        case .double: double
        case .string, .bytes, .json: pointer
        }
    }
}
