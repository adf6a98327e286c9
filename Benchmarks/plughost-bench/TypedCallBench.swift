import CFFI
import CPluginABI
import Foundation
import PluginRuntime
import PluginHTTPExtension

/// A typed endpoint's function called through the host's invoker, against a
/// prepared `ffi_call` and a direct C call of the same function.
enum TypedCallBench {
    static func run(fixtures: String) throws -> [Figure] {
        guard let image = dlopen(fixtures + "/libhttp_fixture.so", RTLD_NOW | RTLD_LOCAL),
              let symbol = dlsym(image, "fixture_add") else { fatalError("fixture_add not found") }
        typealias Add = @convention(c) (Int64, Int64) -> Int64
        let add = unsafeBitCast(symbol, to: Add.self)
        let iterations = 1_000_000

        var sink: Int64 = 0
        // A prepared ffi_call, as a C host would write it.
        var types: [UnsafeMutablePointer<ffi_type>?] = [cffi_type_sint64(), cffi_type_sint64()]
        var cif = ffi_cif()
        precondition(ffi_prep_cif(&cif, cffi_default_abi(), 2, cffi_type_sint64(), &types) == FFI_OK)
        let function = unsafeBitCast(symbol, to: (@convention(c) () -> Void).self)
        let invoker = try TypedInvoker(function: function, parameters: [ph_type_t(PH_TYPE_INT64), ph_type_t(PH_TYPE_INT64)],
                                       result: ph_type_t(PH_TYPE_INT64))
        // Arguments prepared outside the loop, as for the ffi_call baseline (parsing is measured with the chain).
        let values: [TypedValue] = [.int64(40), .int64(2)]

        // Interleaved rounds, the fastest of each: the three are compared under the same conditions.
        var directs: [Double] = []
        var prepareds: [Double] = []
        var hosts: [Double] = []
        for _ in 0..<5 {
            directs.append(Measure.nanoseconds(iterations: iterations, repeats: 3) { count in
                for index in 0..<count { sink &+= add(Int64(index), 2) }
            })
            prepareds.append(Measure.nanoseconds(iterations: iterations, repeats: 3) { count in
                var a: Int64 = 0
                var b: Int64 = 2
                var result: Int64 = 0
                withUnsafeMutablePointer(to: &a) { pa in
                    withUnsafeMutablePointer(to: &b) { pb in
                        var arguments: [UnsafeMutableRawPointer?] = [UnsafeMutableRawPointer(pa), UnsafeMutableRawPointer(pb)]
                        for index in 0..<count {
                            pa.pointee = Int64(index)
                            ffi_call(&cif, function, &result, &arguments)
                            sink &+= result
                        }
                    }
                }
            })
            hosts.append(Measure.nanoseconds(iterations: iterations, repeats: 3) { count in
                for _ in 0..<count {
                    if case .int64(let value) = invoker.invoke(values) { sink &+= value }
                }
            })
        }
        if sink == 42 { print("") }  // keep the results alive
        let (direct, prepared, host) = (directs.min()!, prepareds.min()!, hosts.min()!)
        return [
            Figure(name: "typed call through the host's libffi invoker vs prepared ffi_call", value: host, baseline: prepared,
                   unit: "ns", target: "≤ 1.5×", met: host <= prepared * 1.5, spread: .of(zip(hosts, prepareds).map { $0 / $1 }, ratio: true)),
            Figure(name: "typed call through the host's libffi invoker vs direct C call", value: host, baseline: direct,
                   unit: "ns", target: "—", met: true, spread: .of(zip(hosts, directs).map { $0 / $1 }, ratio: true)),
        ]
    }
}
