#if canImport(Glibc)
import Glibc
#endif
public import CPluginABI
import CPluginChain
public import PluginRuntime
import Logging
import Synchronization

/// The C functions behind `ph_http_t`: registration during `create`, and the
/// request accessors used by handlers and wrappers.
enum HTTPExtension {
    /// The one `ph_http_t` this host hands out (static C memory).
    nonisolated(unsafe) static let table: UnsafeMutablePointer<ph_http_t> = {
        // nonisolated(unsafe): written once at first use, read-only afterwards.
        let table = UnsafeMutablePointer<ph_http_t>.allocate(capacity: 1)
        table.initialize(to: make())
        return table
    }()

    static func isValidMethod(_ method: String) -> Bool {
        !method.isEmpty && method.count <= 16 && method.utf8.allSatisfy { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
    }

    /// Records a refused registration: the plugin hears why, the operator sees it in the log and the status.
    private static func refuse(_ context: PluginOwner, _ builder: HTTPRegistrationStore, _ status: ph_status_t,
                               _ reason: String, _ error: UnsafeMutablePointer<ph_message_t>?) -> ph_status_t {
        MessageBuffer.write(reason, to: error)
        context.logger.warning("registration refused: \(reason)")
        builder.warnings.append(PluginError(.registrationRefused, file: context.libraryPath, alias: context.alias, reason: reason))
        return status
    }

    private static func route(_ method: UnsafePointer<CChar>?, _ path: UnsafePointer<CChar>?) -> Result<(String, PathPattern), PathPattern.PatternError> {
        guard let method, let path else { return .failure(.init(reason: "method and path are required")) }
        let methodText = String(cString: method)
        guard isValidMethod(methodText) else { return .failure(.init(reason: "method '\(methodText)' must be 1 to 16 upper-case letters, e.g. GET")) }
        let pathText = String(cString: path)
        guard !(pathText + "/").hasPrefix(PH_HTTP_RESERVED_PREFIX) else {
            return .failure(.init(reason: "path '\(pathText)' is under the host's reserved prefix \(PH_HTTP_RESERVED_PREFIX)"))
        }
        return PathPattern.parse(pathText).map { (methodText, $0) }
    }

    /// The registering plugin and its HTTP store, while its `create` runs.
    /// Whether a registration struct of the plugin's `struct_size` has `flags` (ABI 1.2) with PH_MAY_DEFER.
    private static func declaresMayDefer<T>(_ registration: UnsafePointer<T>, _ flags: KeyPath<T, UInt32>) -> Bool {
        guard let offset = MemoryLayout<T>.offset(of: flags) else { return false }
        let size = UnsafeRawPointer(registration).load(as: UInt32.self)
        guard Int(size) >= offset + MemoryLayout<UInt32>.size else { return false }
        return registration.pointee[keyPath: flags] & UInt32(PH_MAY_DEFER) != 0
    }

    private static func registering(_ host: UnsafePointer<ph_host_t>?) -> (PluginOwner, HTTPRegistrationStore)? {
        guard let (owner, store) = PluginOwner.registering(host, for: HTTPHostExtension.shared) else { return nil }
        // Only HTTPHostExtension makes the stores it is asked for.
        return (owner, unsafeDowncast(store, to: HTTPRegistrationStore.self))
    }

    private static func make() -> ph_http_t {
        ph_http_t(
            struct_size: UInt32(MemoryLayout<ph_http_t>.size),
            reserved: 0,
            register_endpoint: { host, endpoint, error in
                guard let (context, builder) = HTTPExtension.registering(host) else { return PH_ERR_STATE }
                guard let endpoint, let handler = endpoint.pointee.handler else {
                    return HTTPExtension.refuse(context, builder, PH_ERR_INVALID, "endpoint without a handler", error)
                }
                switch HTTPExtension.route(endpoint.pointee.method, endpoint.pointee.path) {
                case .failure(let problem): return HTTPExtension.refuse(context, builder, PH_ERR_INVALID, problem.reason, error)
                case .success(let (method, pattern)):
                    builder.endpoints.append(EndpointRegistration(
                        method: method, pattern: pattern, kind: .raw(handler: handler, userData: endpoint.pointee.user_data),
                        owner: context, mayDefer: HTTPExtension.declaresMayDefer(endpoint, \ph_endpoint_t.flags)))
                    return PH_OK
                }
            },
            register_typed_endpoint: { host, endpoint, message in
                guard let (context, builder) = HTTPExtension.registering(host) else { return PH_ERR_STATE }
                guard let endpoint else {
                    return HTTPExtension.refuse(context, builder, PH_ERR_INVALID, "typed endpoint is NULL", message)
                }
                let raw = TypedEndpoint.copy(endpoint)
                let (method, pattern): (String, PathPattern)
                switch HTTPExtension.route(raw.method, raw.path) {
                case .failure(let problem): return HTTPExtension.refuse(context, builder, PH_ERR_INVALID, problem.reason, message)
                case .success(let value): (method, pattern) = value
                }
                let label = "\(method) \(pattern)"
                switch HTTPExtension.parameters(of: raw, pattern: pattern) {
                case .failure(let problem): return HTTPExtension.refuse(context, builder, PH_ERR_UNSUPPORTED, "\(label): \(problem.reason)", message)
                case .success(let parameters):
                    do throws(TypedEndpoint.Refusal) {
                        let typed = try TypedEndpoint(raw, parameters: parameters)
                        builder.endpoints.append(EndpointRegistration(
                            method: method, pattern: pattern, kind: .typed(typed), owner: context, mayDefer: typed.mayDefer))
                        return PH_OK
                    } catch {
                        return HTTPExtension.refuse(context, builder, PH_ERR_UNSUPPORTED, "\(label): \(error.reason)", message)
                    }
                }
            },
            register_wrapper: { host, wrapper, error in
                guard let (context, builder) = HTTPExtension.registering(host) else { return PH_ERR_STATE }
                guard let wrapper else {
                    return HTTPExtension.refuse(context, builder, PH_ERR_INVALID, "wrapper is NULL", error)
                }
                // Field by field up to the plugin's struct_size: an older plugin's struct is shorter.
                var raw = ph_wrapper_t()
                let size = Int(wrapper.pointee.struct_size)
                memcpy(&raw, wrapper, min(size, MemoryLayout<ph_wrapper_t>.size))
                // `call` is required: a struct_size too small to hold it leaves it absent.
                guard raw.call != nil else {
                    let callEnd = MemoryLayout<ph_wrapper_t>.offset(of: \ph_wrapper_t.call)! + MemoryLayout<UnsafeRawPointer>.size
                    let reason = size < callEnd
                        ? "wrapper struct_size \(size) is too small to hold its call function (\(callEnd) bytes at least): set struct_size = sizeof(ph_wrapper_t)"
                        : "wrapper without a call function (ph_wrapper_t.call is required)"
                    return HTTPExtension.refuse(context, builder, PH_ERR_INVALID, reason, error)
                }
                guard raw.phase == UInt32(PH_WRAP_PRE) || raw.phase == UInt32(PH_WRAP_POST) else {
                    return HTTPExtension.refuse(context, builder, PH_ERR_INVALID, "wrapper phase \(raw.phase) is neither PH_WRAP_PRE nor PH_WRAP_POST", error)
                }
                let name = raw.name.map { String(cString: $0) } ?? "wrapper"
                let matchText = raw.match.map { String(cString: $0) } ?? "*"
                guard let match = WrapperMatch.parse(matchText) else {
                    return HTTPExtension.refuse(context, builder, PH_ERR_INVALID, "wrapper '\(name)': match '\(matchText)' is not '*', '/prefix/*', '/path' or 'METHOD /path'", error)
                }
                builder.wrappers.append(WrapperRegistration(raw: raw, name: name, match: match, owner: context,
                                                            mayDefer: HTTPExtension.declaresMayDefer(wrapper, \ph_wrapper_t.flags)))
                return PH_OK
            },
            method: { request in
                guard let request else { return nil }
                return RequestContext.from(request).methodBytes.cString
            },
            path: { request in
                guard let request else { return nil }
                return RequestContext.from(request).pathBytes.cString
            },
            path_param: { request, name, value, length in
                HTTPExtension.lookup(request, name, value, length) { context, key in context.capture(named: key) }
            },
            query: { request, name, value, length in
                HTTPExtension.lookup(request, name, value, length) { context, key in context.query(named: key) }
            },
            header: { request, name, value, length in
                HTTPExtension.lookup(request, name, value, length) { context, key in
                    context.header(named: key).map { context.copy($0) }
                }
            },
            body: { request, data, length in
                HTTPExtension.exposeBytes(request, data, length) { $0.bodyBytes }
            },
            set_request_header: { request, name, value in
                guard let request, let name, let value else { return PH_ERR_INVALID }
                RequestContext.from(request).setRequestHeader(String(cString: name), String(cString: value))
                return PH_OK
            },
            status: { request in
                guard let request else { return 0 }
                return RequestContext.from(request).status
            },
            set_status: { request, status in
                guard let request, (100...599).contains(status) else { return PH_ERR_INVALID }
                RequestContext.from(request).status = status
                return PH_OK
            },
            set_header: { request, name, value in
                guard let request, let name, let value else { return PH_ERR_INVALID }
                RequestContext.from(request).setResponseHeader(String(cString: name), String(cString: value))
                return PH_OK
            },
            response_body: { request, data, length in
                HTTPExtension.exposeBytes(request, data, length) { $0.copy($0.responseBody) }
            },
            set_body: { request, data, length in
                guard let request, data != nil || length == 0 else { return PH_ERR_INVALID }
                RequestContext.from(request).responseBody = HostAPI.bytes(data, length)
                return PH_OK
            },
            // Straight into the C chain walk: a wrapper's call_next never enters Swift.
            call_next: ph_chain_call_next,
            set_property: { request, key, type, value, length in
                guard let request, let key, value != nil || length == 0,
                      let typed = TypedValue.decode(type: type, bytes: HostAPI.bytes(value, length)) else { return PH_ERR_INVALID }
                RequestContext.from(request).properties[String(cString: key)] = typed
                return PH_OK
            },
            get_property: { request, key, type, value, length in
                guard let request, let key else { return PH_ERR_INVALID }
                let context = RequestContext.from(request)
                guard let typed = context.properties[String(cString: key)] else { return PH_ERR_NOT_FOUND }
                return HTTPExtension.expose(typed, in: context, type, value, length)
            },
            param: { request, name, type, value, length in
                guard let request, let name else { return PH_ERR_INVALID }
                let context = RequestContext.from(request)
                guard let values = context.parameters else { return PH_ERR_STATE }
                guard let parameters = context.route.registration.typed?.parameters,
                      let index = parameters.firstIndex(where: { $0.name == String(cString: name) }) else { return PH_ERR_NOT_FOUND }
                return HTTPExtension.expose(values[index], in: context, type, value, length)
            },
            resume: { request, status, message in
                guard let request else { return PH_ERR_INVALID }
                guard let deferral = RequestContext.from(request).deferral else { return PH_ERR_STATE }
                return deferral.resume(status: status, message: message.map { String(cString: $0) } ?? "")
            },
            on_cancel: { request, cancelled, userData in
                guard let request, let cancelled else { return PH_ERR_INVALID }
                guard let deferral = RequestContext.from(request).deferral else { return PH_ERR_STATE }
                return deferral.setOnCancel(cancelled, userData)
            }
        )
    }

    private static func lookup(
        _ request: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ value: UnsafeMutablePointer<UnsafePointer<CChar>?>?,
        _ length: UnsafeMutablePointer<Int>?, _ find: (RequestContext, UnsafeBufferPointer<UInt8>) -> ByteSpan?
    ) -> ph_status_t {
        guard let request, let name else { return PH_ERR_INVALID }
        let context = RequestContext.from(request)
        let key = UnsafeBufferPointer(start: UnsafeRawPointer(name).assumingMemoryBound(to: UInt8.self), count: strlen(name))
        guard let found = find(context, key) else { return PH_ERR_NOT_FOUND }
        value?.pointee = found.cString
        length?.pointee = found.count
        return PH_OK
    }

    /// Hands out the bytes `read` puts in request storage, valid until the request ends.
    private static func exposeBytes(
        _ request: OpaquePointer?, _ data: UnsafeMutablePointer<UnsafeRawPointer?>?, _ length: UnsafeMutablePointer<Int>?,
        _ read: (RequestContext) -> ByteSpan
    ) -> ph_status_t {
        guard let request else { return PH_ERR_INVALID }
        let span = read(RequestContext.from(request))
        data?.pointee = UnsafeRawPointer(span.base)
        length?.pointee = span.count
        return PH_OK
    }

    private static func expose(
        _ typed: TypedValue, in context: RequestContext, _ type: UnsafeMutablePointer<ph_type_t>?,
        _ value: UnsafeMutablePointer<UnsafeRawPointer?>?, _ length: UnsafeMutablePointer<Int>?
    ) -> ph_status_t {
        // Request storage adds one NUL after the bytes: strings stay NUL-terminated for C readers.
        let span = context.copy(typed.encoded)
        type?.pointee = typed.type
        value?.pointee = UnsafeRawPointer(span.base)
        length?.pointee = span.count
        return PH_OK
    }

    /// Typed parameters copied from the plugin's signature, checked against the pattern.
    private static func parameters(of endpoint: ph_typed_endpoint_t, pattern: PathPattern) -> Result<[TypedParameter], PathPattern.PatternError> {
        let count = endpoint.param_count
        guard count <= 16 else { return .failure(.init(reason: "\(count) parameters; at most 16 are supported")) }
        guard count == 0 || endpoint.params != nil else { return .failure(.init(reason: "param_count is \(count) but params is NULL")) }
        var parameters: [TypedParameter] = []
        var bodies = 0
        for index in 0..<count {
            let raw = endpoint.params[index]
            guard let cName = raw.name, !String(cString: cName).isEmpty else {
                return .failure(.init(reason: "parameter \(index) has no name"))
            }
            let name = String(cString: cName)
            guard (ph_type_t(PH_TYPE_BOOL)...ph_type_t(PH_TYPE_JSON)).contains(raw.type) else {
                return .failure(.init(reason: raw.type == 0 ? "parameter '\(name)' has type PH_TYPE_VOID, which only a result may have: use PH_TYPE_BOOL … PH_TYPE_JSON" : "parameter '\(name)' has unknown type \(raw.type) (known: PH_TYPE_BOOL … PH_TYPE_JSON, see http.h)"))
            }
            switch raw.source {
            case ph_source_t(PH_SOURCE_PATH):
                guard pattern.captureNames.contains(name) else {
                    return .failure(.init(reason: "path parameter '\(name)' is not a ':\(name)' segment of the path"))
                }
            case ph_source_t(PH_SOURCE_BODY):
                bodies += 1
                guard bodies == 1 else { return .failure(.init(reason: "more than one parameter reads the body")) }
            case ph_source_t(PH_SOURCE_QUERY), ph_source_t(PH_SOURCE_HEADER), ph_source_t(PH_SOURCE_PLUGIN):
                break
            default:
                return .failure(.init(reason: "parameter '\(name)' has unknown source \(raw.source) (known: PH_SOURCE_PATH, PH_SOURCE_QUERY, PH_SOURCE_HEADER, PH_SOURCE_BODY, PH_SOURCE_PLUGIN, see http.h)"))
            }
            parameters.append(TypedParameter(name: name, source: raw.source, type: raw.type))
        }
        return .success(parameters)
    }
}
