public import CPluginABI
public import PluginRuntime
import Logging

extension EndpointTable.Route {
    /// Answers a typed function's result: the declared status and content type, the
    /// result as JSON (a JSON result checked first), or a string as its text under a
    /// content type that is not JSON.
    func answerTyped(_ endpoint: TypedEndpoint, _ result: TypedValue, _ context: RequestContext) -> ph_status_t {
        let body: [UInt8]
        if endpoint.result == ph_type_t(PH_TYPE_JSON) {
            guard case .json(let document) = result else {
                return resultFailed(context, "returned NULL instead of a JSON document")
            }
            if let problem = Self.problem(in: document, endpoint.resultSchema) { return resultFailed(context, problem) }
            body = document
        } else if !endpoint.answersJSON, case .string(let text) = result {
            body = Array(text.utf8)
        } else {
            body = result.jsonBytes
        }
        context.status = endpoint.status
        if context.responseHeaders.isEmpty {
            context.responseHeaders = endpoint.contentTypeHeaders  // shared storage: no allocation
        } else {
            context.setResponseHeader("Content-Type", endpoint.contentType)
        }
        context.responseBody = endpoint.status == 204 ? [] : body
        return PH_OK
    }

    /// Completes a handler-form typed endpoint's answer once its handler returned PH_OK (or
    /// resumed): the declared status if it left 200, the content type, and the JSON check of
    /// a successful answer. An error status the handler set is left as it is.
    func finishTypedHandler(_ context: RequestContext) -> ph_status_t {
        context.typedAnswerPending = false
        guard let endpoint = typed else { return PH_OK }
        if context.status == 200 { context.status = endpoint.status }
        guard (200...299).contains(context.status) else { return PH_OK }
        if context.status == 204 {
            context.responseBody = []
        } else if endpoint.result == ph_type_t(PH_TYPE_JSON) {
            guard !context.responseBody.isEmpty else { return resultFailed(context, "answered no JSON document (an empty body)") }
            if let problem = Self.problem(in: context.responseBody, endpoint.resultSchema) { return resultFailed(context, problem) }
        } else if context.responseBody.isEmpty {
            context.responseBody = Array("null".utf8)
        }
        context.setResponseHeader("Content-Type", endpoint.contentType)
        return PH_OK
    }

    /// Why `document` is not a well-formed JSON document valid against `schema`, or nil.
    static func problem(in document: [UInt8], _ schema: JSONSchema?) -> String? {
        document.withUnsafeBufferPointer { bytes in
            do throws(JSONParser.Malformed) {
                guard let schema else {
                    try JSONParser.check(bytes)
                    return nil
                }
                let value = try JSONParser.parse(bytes)
                return schema.violation(in: value).map { "returned JSON that does not match its result_schema: \($0)" }
            } catch {
                return "returned malformed JSON: \(error)"
            }
        }
    }

    /// The plugin's result broke its contract: a 500 naming it.
    private func resultFailed(_ context: RequestContext, _ problem: String) -> ph_status_t {
        pluginFailed(context, registration.owner, what: "typed endpoint", status: PH_ERR_FAILED, message: problem)
        return PH_ERR_FAILED
    }

    /// Checks a JSON body parameter: well-formed, and valid against the body schema when
    /// there is one. Nil when it is (the value is then the body's text), else the 400 answered.
    func parseJSONBody(_ parameter: TypedParameter, _ context: RequestContext) -> TypedValue? {
        let body = context.body
        guard !body.isEmpty else {
            context.fail(status: 400, HostErrorBody("invalid parameter", [
                "parameter": .text(parameter.name), "source": "body", "expected": "json", "reason": "the body is empty: a JSON document is expected"]))
            return nil
        }
        let problem: (reason: String, path: String?)? = body.withUnsafeBufferPointer { bytes in
            do throws(JSONParser.Malformed) {
                guard let schema = typed?.bodySchema else {
                    try JSONParser.check(bytes)
                    return nil
                }
                let value = try JSONParser.parse(bytes)
                return schema.violation(in: value).map { ("\($0)", $0.pointer) }
            } catch {
                return ("the body is not JSON: \(error)", nil)
            }
        }
        guard let problem else { return .json(body) }
        let name = HostErrorBody.Value.text(parameter.name), reason = HostErrorBody.Value.text(problem.reason)
        if let path = problem.path {
            context.fail(status: 400, HostErrorBody("invalid parameter", [
                "parameter": name, "source": "body", "expected": "json", "path": .text(path), "reason": reason]))
        } else {
            context.fail(status: 400, HostErrorBody("invalid parameter", ["parameter": name, "source": "body", "expected": "json", "reason": reason]))
        }
        return nil
    }
}
