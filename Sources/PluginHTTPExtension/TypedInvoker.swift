#if canImport(Glibc)
import Glibc
#endif
import CFFI
public import CPluginABI
public import PluginRuntime

/// Calls a plain C function through libffi, with an `ffi_cif` prepared once
/// at creation: what typed endpoints use, open to embedders.
public final class TypedInvoker: @unchecked Sendable {
    // @unchecked Sendable: the cif and type arrays are written in init and only
    // read afterwards; ffi_call on a prepared cif is thread-safe.

    /// Why a signature cannot be called.
    public struct Refusal: Error {
        /// In words.
        public let reason: String
    }

    private let function: @convention(c) () -> Void
    /// The C argument types in order (a BYTES parameter counts twice).
    private let cArguments: [ph_type_t]
    /// The declared parameter types (one per parameter).
    public let parameters: [ph_type_t]
    /// The result type.
    public let result: ph_type_t
    /// `parameters` in C memory, for the per-call type check without array overhead.
    private let parameterTypes: UnsafeMutablePointer<ph_type_t>
    /// Whether some argument needs memory copied per call (strings, bytes).
    private let copiesArguments: Bool
    /// `parameters.count` and `cArguments.count`, kept as plain integers for the call path.
    private let parameterCount: Int
    private let argumentCount: Int
    private let cif: UnsafeMutablePointer<ffi_cif>
    private let argumentTypes: UnsafeMutablePointer<UnsafeMutablePointer<ffi_type>?>

    /// Prepares the call of `function`, whose C parameters are `parameters` (a BYTES one takes
    /// `const uint8_t *, size_t`, a JSON one `const char *, size_t`) and whose return type is `result`.
    public init(function: @escaping @convention(c) () -> Void, parameters: [ph_type_t], result: ph_type_t) throws(Refusal) {
        self.function = function
        self.parameters = parameters
        self.result = result
        var cArguments: [ph_type_t] = []
        for type in parameters {
            guard let _ = Self.ffiType(type), type != ph_type_t(PH_TYPE_VOID) else {
                throw Refusal(reason: "parameter type \(TypedValue.name(of: type)) cannot be passed")
            }
            cArguments.append(type)
            if TypedInvoker.takesLength(type) { cArguments.append(ph_type_t(PH_TYPE_UINT64)) }  // the length
        }
        guard result != ph_type_t(PH_TYPE_BYTES), let resultType = Self.ffiType(result) else {
            throw Refusal(reason: "result type \(TypedValue.name(of: result)) cannot be returned (use string, a number, bool or void)")
        }
        self.cArguments = cArguments
        parameterCount = parameters.count
        argumentCount = cArguments.count
        parameterTypes = .allocate(capacity: max(parameters.count, 1))
        parameterTypes.initialize(from: parameters, count: parameters.count)
        copiesArguments = parameters.contains { $0 == ph_type_t(PH_TYPE_STRING) || TypedInvoker.takesLength($0) }
        argumentTypes = .allocate(capacity: max(cArguments.count, 1))
        for (index, type) in cArguments.enumerated() { argumentTypes[index] = Self.ffiType(type) }
        cif = .allocate(capacity: 1)
        let status = ffi_prep_cif(cif, cffi_default_abi(), UInt32(cArguments.count), resultType, argumentTypes)
        guard status == FFI_OK else {
            cif.deallocate()
            argumentTypes.deallocate()
            parameterTypes.deallocate()
            throw Refusal(reason: "libffi cannot prepare this signature (ffi_prep_cif status \(status.rawValue))")
        }
    }

    deinit {
        cif.deallocate()
        argumentTypes.deallocate()
        parameterTypes.deallocate()
    }

    /// A BYTES or JSON parameter: a pointer and then a length.
    private static func takesLength(_ type: ph_type_t) -> Bool {
        type == ph_type_t(PH_TYPE_BYTES) || type == ph_type_t(PH_TYPE_JSON)
    }

    private static func ffiType(_ type: ph_type_t) -> UnsafeMutablePointer<ffi_type>? {
        switch type {
        case ph_type_t(PH_TYPE_VOID): cffi_type_void()
        case ph_type_t(PH_TYPE_BOOL): cffi_type_uint8()
        case ph_type_t(PH_TYPE_INT32): cffi_type_sint32()
        case ph_type_t(PH_TYPE_INT64): cffi_type_sint64()
        case ph_type_t(PH_TYPE_UINT64): cffi_type_uint64()
        case ph_type_t(PH_TYPE_DOUBLE): cffi_type_double()
        case ph_type_t(PH_TYPE_STRING), ph_type_t(PH_TYPE_BYTES), ph_type_t(PH_TYPE_JSON): cffi_type_pointer()
        default: nil
        }
    }

    /// Calls the function with `values` (one per parameter, already of the declared types).
    /// - Precondition: `values` match ``parameters`` in number and type; anything else
    ///   would pass the C function arguments it does not expect.
    public func invoke(_ values: [TypedValue]) -> TypedValue {
        if values.count != parameterCount { mismatch(values) }
        if !copiesArguments && argumentCount <= Self.fixedSlots {
            // Scalars only, few of them: a fixed-size scratch area, and one switch per
            // argument that both checks its type and stores it.
            return withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 2 * Self.fixedSlots) { scratch in
                let slots = UnsafeMutableRawPointer(scratch.baseAddress!)
                let pointers = (slots + Self.fixedSlots * 8).bindMemory(to: UnsafeMutableRawPointer?.self, capacity: Self.fixedSlots)
                storeScalars(values, slots: slots, pointers: pointers)
                return call(pointers)
            }
        }
        let count = max(argumentCount, 1)
        return withUnsafeTemporaryAllocation(byteCount: count * 8 + count * MemoryLayout<UnsafeMutableRawPointer>.stride, alignment: 8) { scratch in
            let slots = scratch.baseAddress!
            let pointers = (slots + count * 8).bindMemory(to: UnsafeMutableRawPointer?.self, capacity: count)
            guard copiesArguments else {
                storeScalars(values, slots: slots, pointers: pointers)
                return call(pointers)
            }
            var owned: [UnsafeMutableRawPointer] = []
            defer { owned.forEach { free($0) } }
            var slot = 0
            for (index, value) in values.enumerated() {
                if value.type != parameterTypes[index] { mismatch(values) }
                let address = slots + slot * 8
                pointers[slot] = address
                slot += 1
                switch value {
                case .string(let text):
                    let copy = UnsafeMutableRawPointer(strdup(text)!)
                    owned.append(copy)
                    address.storeBytes(of: copy, as: UnsafeMutableRawPointer.self)
                case .bytes(let bytes), .json(let bytes):
                    // One NUL after the bytes: a JSON text is a C string too.
                    let copy = malloc(bytes.count + 1)!
                    bytes.withUnsafeBytes { if let base = $0.baseAddress { copy.copyMemory(from: base, byteCount: $0.count) } }
                    copy.storeBytes(of: 0, toByteOffset: bytes.count, as: UInt8.self)
                    owned.append(copy)
                    address.storeBytes(of: copy, as: UnsafeMutableRawPointer.self)
                    let lengthAddress = slots + slot * 8
                    lengthAddress.storeBytes(of: UInt64(bytes.count), as: UInt64.self)
                    pointers[slot] = lengthAddress
                    slot += 1
                default:
                    Self.store(value, at: address)
                }
            }
            return call(pointers)
        }
    }

    /// Stops the process: passing these values would hand the C function arguments it does not expect.
    private func mismatch(_ values: [TypedValue]) -> Never {
        preconditionFailure("TypedInvoker.invoke: arguments \(values.map { TypedValue.name(of: $0.type) }) do not match the signature \(parameters.map { TypedValue.name(of: $0) })")
    }

    /// Stores scalar `values` in consecutive 8-byte `slots` and points `pointers` at them.
    @inline(__always)
    private func storeScalars(_ values: [TypedValue], slots: UnsafeMutableRawPointer,
                              pointers: UnsafeMutablePointer<UnsafeMutableRawPointer?>) {
        for slot in 0..<parameterCount {
            let address = slots + slot * 8
            pointers[slot] = address
            if !Self.storeScalar(values[slot], expecting: parameterTypes[slot], at: address) { mismatch(values) }
        }
    }

    /// Arguments that fit the fixed-size scratch area of the scalar fast path.
    private static let fixedSlots = 8

    /// Stores scalar `value` in its 8-byte slot if it is of type `expected`.
    @inline(__always)
    private static func storeScalar(_ value: TypedValue, expecting expected: ph_type_t, at address: UnsafeMutableRawPointer) -> Bool {
        switch value {
        case .int64(let number) where expected == ph_type_t(PH_TYPE_INT64): address.storeBytes(of: number, as: Int64.self)
        case .int32(let number) where expected == ph_type_t(PH_TYPE_INT32): address.storeBytes(of: number, as: Int32.self)
        case .uint64(let number) where expected == ph_type_t(PH_TYPE_UINT64): address.storeBytes(of: number, as: UInt64.self)
        case .double(let number) where expected == ph_type_t(PH_TYPE_DOUBLE): address.storeBytes(of: number, as: Double.self)
        case .bool(let flag) where expected == ph_type_t(PH_TYPE_BOOL): address.storeBytes(of: UInt8(flag ? 1 : 0), as: UInt8.self)
        default: return false
        }
        return true
    }

    /// Stores a scalar argument in its 8-byte slot.
    @inline(__always)
    private static func store(_ value: TypedValue, at address: UnsafeMutableRawPointer) {
        switch value {
        case .bool(let flag): address.storeBytes(of: UInt8(flag ? 1 : 0), as: UInt8.self)
        case .int32(let number): address.storeBytes(of: number, as: Int32.self)
        case .int64(let number): address.storeBytes(of: number, as: Int64.self)
        case .uint64(let number): address.storeBytes(of: number, as: UInt64.self)
        case .double(let number): address.storeBytes(of: number, as: Double.self)
        case .void, .string, .bytes, .json: address.storeBytes(of: 0, as: UInt64.self)
        }
    }

    @inline(__always)
    private func call(_ pointers: UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> TypedValue {
        var returned: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &returned) { storage in
            ffi_call(cif, function, storage.baseAddress, pointers)
        }
        return decodeResult(returned.0)
    }

    private func decodeResult(_ raw: UInt64) -> TypedValue {
        switch result {
        case ph_type_t(PH_TYPE_BOOL): return .bool(raw & 0xFF != 0)
        case ph_type_t(PH_TYPE_INT32): return .int32(Int32(truncatingIfNeeded: raw))
        case ph_type_t(PH_TYPE_INT64): return .int64(Int64(bitPattern: raw))
        case ph_type_t(PH_TYPE_UINT64): return .uint64(raw)
        case ph_type_t(PH_TYPE_DOUBLE): return .double(Double(bitPattern: raw))
        case ph_type_t(PH_TYPE_STRING):
            guard let pointer = UnsafePointer<CChar>(bitPattern: UInt(raw)) else { return .void }
            return .string(String(cString: pointer))
        case ph_type_t(PH_TYPE_JSON):
            // NULL is no document: the caller answers 500 naming the plugin.
            guard let pointer = UnsafePointer<CChar>(bitPattern: UInt(raw)) else { return .void }
            return .json(Array(UnsafeRawBufferPointer(start: pointer, count: strlen(pointer))))
        default: return .void
        }
    }
}
