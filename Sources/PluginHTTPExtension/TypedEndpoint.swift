#if canImport(Glibc)
import Glibc
#endif
public import CPluginABI
public import PluginRuntime

/// A typed endpoint as registered (`ph_typed_endpoint_t`, copied): how it is
/// called, its parameters, and what a successful call answers.
final class TypedEndpoint: @unchecked Sendable {
    // @unchecked Sendable: immutable after init; the handler's user data is the plugin's.

    /// How the endpoint is called.
    enum Call {
        /// A plain C function, through libffi.
        case function(TypedInvoker)
        /// A handler of the raw endpoint's shape (ABI 1.3), after the host parsed the parameters.
        case handler(ph_handler_fn, UnsafeMutableRawPointer?)
    }

    let call: Call
    let parameters: [TypedParameter]
    /// The declared result type.
    let result: ph_type_t
    /// The status of a successful answer (200–299).
    let status: UInt32
    /// The Content-Type of a successful answer.
    let contentType: String
    /// The content type is JSON: results are written as JSON (else a string result goes as its text).
    let answersJSON: Bool
    /// What a PH_TYPE_JSON body parameter must match (nil: any JSON).
    let bodySchema: JSONSchema?
    /// What a PH_TYPE_JSON result must match (nil: any JSON).
    let resultSchema: JSONSchema?
    /// One line for the OpenAPI document.
    let summary: String?
    /// The handler declared PH_MAY_DEFER.
    let mayDefer: Bool
    /// `[("Content-Type", contentType)]`, made once.
    let contentTypeHeaders: [(String, String)]

    /// Why a registration is refused.
    struct Refusal: Error {
        let reason: String
    }

    /// `PH_TYPED_ENDPOINT_SIZE_1_0`: the struct up to and with `result`.
    static let sizeBefore1_3 = MemoryLayout<ph_typed_endpoint_t>.offset(of: \ph_typed_endpoint_t.result)! + MemoryLayout<ph_type_t>.size

    /// Reads the plugin's struct: its 1.0 members always (as hosts before 1.3 did),
    /// the 1.3 members only as far as its `struct_size` reaches.
    static func copy(_ endpoint: UnsafePointer<ph_typed_endpoint_t>) -> ph_typed_endpoint_t {
        var raw = ph_typed_endpoint_t()
        let declared = Int(UnsafeRawPointer(endpoint).load(as: UInt32.self))
        let size = min(max(declared, sizeBefore1_3), MemoryLayout<ph_typed_endpoint_t>.size)
        memcpy(&raw, endpoint, size)
        return raw
    }

    /// Checks and copies a registration whose parameters were already read.
    init(_ raw: ph_typed_endpoint_t, parameters: [TypedParameter]) throws(Refusal) {
        self.parameters = parameters
        result = raw.result
        let status = raw.status == 0 ? 200 : raw.status
        guard (200...299).contains(status) else {
            throw Refusal(reason: "status \(raw.status) is not a success status (200–299; 0 means 200)")
        }
        self.status = status
        let contentType = raw.content_type.map { String(cString: $0) } ?? "application/json"
        guard !contentType.isEmpty, contentType.utf8.count <= 200, contentType.contains("/"),
              contentType.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
            throw Refusal(reason: "content_type '\(contentType)' is not a media type such as application/json")
        }
        self.contentType = contentType
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingSpaces.lowercased() } ?? ""
        answersJSON = mediaType == "application/json" || mediaType.hasSuffix("+json")
        contentTypeHeaders = [("Content-Type", contentType)]
        let json = ph_type_t(PH_TYPE_JSON)
        if result == json && !answersJSON {
            throw Refusal(reason: "a json result needs a JSON content type, not '\(contentType)'")
        }
        for parameter in parameters where parameter.type == json && parameter.source != ph_source_t(PH_SOURCE_BODY) {
            throw Refusal(reason: "parameter '\(parameter.name)' is json: only a body parameter (PH_SOURCE_BODY) can be")
        }
        func schema(_ text: UnsafePointer<CChar>?, _ what: String, applies: Bool, to target: String) throws(Refusal) -> JSONSchema? {
            guard let text else { return nil }
            guard applies else { throw Refusal(reason: "\(what) is set but \(target) is not of type json") }
            do throws(JSONSchema.Refusal) { return try JSONSchema.compile(text: String(cString: text)) } catch {
                throw Refusal(reason: "\(what) \(error)")
            }
        }
        bodySchema = try schema(raw.body_schema, "body_schema", applies: parameters.contains { $0.type == json }, to: "no body parameter")
        resultSchema = try schema(raw.result_schema, "result_schema", applies: result == json, to: "the result")
        summary = raw.summary.map { String(cString: $0) }
        let flags = raw.flags
        guard flags & ~UInt32(PH_MAY_DEFER) == 0 else { throw Refusal(reason: "unknown flags 0x\(String(flags, radix: 16))") }
        switch (raw.function, raw.handler) {
        case (let function?, nil):
            guard flags == 0 else { throw Refusal(reason: "PH_MAY_DEFER needs the handler form (a function cannot defer)") }
            do throws(TypedInvoker.Refusal) {
                call = .function(try TypedInvoker(function: function, parameters: parameters.map(\.type), result: result))
            } catch {
                throw Refusal(reason: error.reason)
            }
            mayDefer = false
        case (nil, let handler?):
            guard result == json || result == ph_type_t(PH_TYPE_VOID) else {
                throw Refusal(reason: "a handler-form typed endpoint answers json or void, not \(TypedValue.name(of: result))")
            }
            call = .handler(handler, raw.user_data)
            mayDefer = flags & UInt32(PH_MAY_DEFER) != 0
        case (nil, nil):
            throw Refusal(reason: "typed endpoint without a function or a handler")
        case (_?, _?):
            throw Refusal(reason: "typed endpoint with both a function and a handler: set one")
        }
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
