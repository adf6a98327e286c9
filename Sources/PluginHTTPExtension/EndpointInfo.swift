#if canImport(Glibc)
import Glibc
#endif
public import CPluginABI
public import PluginRuntime

/// Builds the `ph_endpoint_info_t` wrappers see, with C strings that live for one call.
enum EndpointInfo {
    static func with(_ registration: EndpointRegistration, _ body: (UnsafePointer<ph_endpoint_info_t>) -> Void) {
        var strings: [UnsafeMutablePointer<CChar>] = []
        func c(_ text: String) -> UnsafePointer<CChar> {
            let copy = strdup(text)!
            strings.append(copy)
            return UnsafePointer(copy)
        }
        defer { strings.forEach { free($0) } }
        var params: [ph_param_t] = []
        var kind = UInt32(PH_ENDPOINT_RAW)
        var result = ph_type_t(PH_TYPE_VOID)
        if let typed = registration.typed {
            kind = UInt32(PH_ENDPOINT_TYPED)
            result = typed.result
            params = typed.parameters.map { ph_param_t(name: c($0.name), source: $0.source, type: $0.type) }
        }
        params.withUnsafeBufferPointer { buffer in
            var info = ph_endpoint_info_t(
                struct_size: UInt32(MemoryLayout<ph_endpoint_info_t>.size), kind: kind,
                method: c(registration.method), path: c(registration.pattern.description), owner: c(registration.owner.alias),
                params: buffer.isEmpty ? nil : buffer.baseAddress, param_count: buffer.count, result: result)
            body(&info)
        }
    }
}
