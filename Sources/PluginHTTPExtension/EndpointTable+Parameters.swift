public import CPluginABI
public import PluginRuntime
import Logging

extension EndpointTable.Route {
    /// Parses every typed parameter from the request's bytes; on the first bad one
    /// answers 400 (or 500 for a missing plugin value).
    func parseTyped(_ context: RequestContext) -> [TypedValue]? {
        if let pathOnly = pathOnlyInputs, let values = parsePathOnly(pathOnly, context) { return values }
        var values: [TypedValue] = []
        values.reserveCapacity(typedInputs.count)
        for (parameter, source) in typedInputs {
            let parsed: Result<TypedValue, TypedValue.ParseError>?
            switch source {
            case .capture(let index):
                parsed = context.withCapture(index) { TypedValue.parse($0, as: parameter.type) }
            case .query(let name):
                parsed = name.withUnsafeBufferPointer { context.query(named: $0) }.map { TypedValue.parse($0.buffer, as: parameter.type) }
            case .header(let name):
                parsed = name.withUnsafeBufferPointer { context.header(named: $0) }.map { value in
                    var value = value
                    return value.withUTF8 { TypedValue.parse($0, as: parameter.type) }
                }
            case .body where parameter.type == ph_type_t(PH_TYPE_JSON):
                guard let value = parseJSONBody(parameter, context) else { return nil }
                values.append(value)
                continue
            case .body:
                let numeric = parameter.type != ph_type_t(PH_TYPE_STRING) && parameter.type != ph_type_t(PH_TYPE_BYTES)
                parsed = numeric && context.body.isEmpty ? nil : context.body.withUnsafeBufferPointer { TypedValue.parse($0, as: parameter.type) }
            case .plugin:
                guard let value = context.properties[parameter.name], let converted = Self.convert(value, to: parameter.type) else {
                    registration.owner.logger.error("\(registration.method) \(registration.pattern): no wrapper provided parameter '\(parameter.name)'")
                    context.fail(status: 500, HostErrorBody("missing plugin-provided parameter", ["parameter": .text(parameter.name)]))
                    return nil
                }
                // A C string argument ends at its first NUL: refuse rather than pass a shorter value.
                if case .string(let text) = converted, text.utf8.contains(0) {
                    registration.owner.logger.error("\(registration.method) \(registration.pattern): plugin-provided parameter '\(parameter.name)' holds a NUL byte")
                    context.fail(status: 500, HostErrorBody("invalid plugin-provided parameter",
                                                            ["parameter": .text(parameter.name), "reason": "a string argument cannot hold a NUL byte"]))
                    return nil
                }
                values.append(converted)
                continue
            }
            switch parsed {
            case .success(let value)?:
                values.append(value)
            case .failure(let problem)?:
                context.fail(status: 400, Self.parameterError(parameter, reason: problem.reason))
                return nil
            case nil:
                context.fail(status: 400, Self.parameterError(parameter, reason: "missing \(Self.sourceName(parameter)) parameter '\(parameter.name)'"))
                return nil
            }
        }
        return values
    }

    /// The common case of parameters that all come from the path: one pass over the
    /// path's segments, parsed in place, no reference counting per parameter.
    /// Nil when a segment needs decoding or a value does not parse: the general
    /// path then does it again and reports the error.
    private func parsePathOnly(_ inputs: [PathInput], _ context: RequestContext) -> [TypedValue]? {
        context.withPathBytes { bytes in
            var values: [TypedValue] = []
            values.reserveCapacity(inputs.count)
            for input in inputs {
                guard let range = PathSegments.segment(input.position, of: bytes) else { return nil }
                let segment = UnsafeBufferPointer(rebasing: bytes[range])
                guard !segment.contains(UInt8(ascii: "%")),
                      case .success(let value) = TypedValue.parse(segment, as: input.type) else { return nil }
                values.append(value)
            }
            return values
        }
    }

    private static func sourceName(_ parameter: TypedParameter) -> String {
        switch parameter.source {
        case ph_source_t(PH_SOURCE_PATH): "path"
        case ph_source_t(PH_SOURCE_QUERY): "query"
        case ph_source_t(PH_SOURCE_HEADER): "header"
        case ph_source_t(PH_SOURCE_BODY): "body"
        default: "plugin"
        }
    }

    private static func parameterError(_ parameter: TypedParameter, reason: String) -> HostErrorBody {
        HostErrorBody("invalid parameter", ["parameter": .text(parameter.name), "source": .text(sourceName(parameter)),
                                            "expected": .text(TypedValue.name(of: parameter.type)), "reason": .text(reason)])
    }

    private static func convert(_ value: TypedValue, to type: ph_type_t) -> TypedValue? {
        if value.type == type { return value }
        switch (value, type) {
        case (.int64(let number), ph_type_t(PH_TYPE_INT32)): return Int32(exactly: number).map { .int32($0) }
        case (.int64(let number), ph_type_t(PH_TYPE_UINT64)): return UInt64(exactly: number).map { .uint64($0) }
        case (.string(let text), ph_type_t(PH_TYPE_BYTES)): return .bytes(Array(text.utf8))
        default: return nil
        }
    }
}
