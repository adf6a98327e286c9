import CPluginABI
import Foundation
import PluginRuntime
import PluginHTTPExtension
import PluginTestSupport
import Testing

@Suite("Calling C functions through libffi")
struct TypedInvokerTests {
    private func fixtureAdd() throws -> @convention(c) () -> Void {
        let image = try #require(dlopen(Fixtures.library("libhttp_fixture.so"), RTLD_NOW | RTLD_LOCAL))
        let symbol = try #require(dlsym(image, "fixture_add"))
        return unsafeBitCast(symbol, to: (@convention(c) () -> Void).self)
    }

    @Test("calls a prepared signature")
    func calls() throws {
        let invoker = try TypedInvoker(function: try fixtureAdd(), parameters: [ph_type_t(PH_TYPE_INT64), ph_type_t(PH_TYPE_INT64)],
                                       result: ph_type_t(PH_TYPE_INT64))
        #expect(invoker.invoke([.int64(40), .int64(2)]) == .int64(42))
    }

    @Test("refuses signatures it cannot call")
    func refusesBytesResult() throws {
        #expect(throws: TypedInvoker.Refusal.self) {
            try TypedInvoker(function: try fixtureAdd(), parameters: [], result: ph_type_t(PH_TYPE_BYTES))
        }
        #expect(throws: TypedInvoker.Refusal.self) {
            try TypedInvoker(function: try fixtureAdd(), parameters: [ph_type_t(PH_TYPE_VOID)], result: ph_type_t(PH_TYPE_INT64))
        }
    }

    @Test("arguments that do not match the signature stop the process instead of corrupting memory")
    func mismatchedArguments() async throws {
        await #expect(processExitsWith: .failure) {
            let image = dlopen(Fixtures.library("libhttp_fixture.so"), RTLD_NOW | RTLD_LOCAL)!
            let function = unsafeBitCast(dlsym(image, "fixture_add")!, to: (@convention(c) () -> Void).self)
            let invoker = try! TypedInvoker(function: function, parameters: [ph_type_t(PH_TYPE_INT64), ph_type_t(PH_TYPE_INT64)],
                                            result: ph_type_t(PH_TYPE_INT64))
            _ = invoker.invoke([.bytes([1, 2, 3])])
        }
    }
}
