public import CPluginABI
public import PluginRuntime

extension EndpointTable {
    /// An OpenAPI 3.1 document of every endpoint of this table's generation: typed ones
    /// with their path, query and header parameters and types, body and result schemas,
    /// statuses and the plugin that serves them; raw ones with their path parameters only.
    /// Parameters a wrapper provides (`PH_SOURCE_PLUGIN`) are not the client's to send and
    /// are left out.
    public func openAPIDocument(generation: Int) -> JSONValue {
        Self.openAPIDocument(routes: routes, generation: generation)
    }

    /// The document of a host serving no generation yet: no paths.
    public static var emptyOpenAPIDocument: JSONValue { openAPIDocument(routes: [], generation: 0) }

    private static func openAPIDocument(routes: [Route], generation: Int) -> JSONValue {
        var paths: [(path: String, operations: [JSONMember])] = []
        var others: [String: [JSONMember]] = [:]
        var operationIDs = Set<String>()
        for route in routes {
            let registration = route.registration
            let path = Self.openAPIPath(registration.pattern)
            var operationID = Self.operationID(registration)
            var suffix = 2
            while !operationIDs.insert(operationID).inserted {
                operationID = Self.operationID(registration) + "_\(suffix)"
                suffix += 1
            }
            let operation = Self.operation(registration, id: operationID)
            let method = registration.method.lowercased()
            let index: Int
            if let existing = paths.firstIndex(where: { $0.path == path }) {
                index = existing
            } else {
                index = paths.count
                paths.append((path, []))
            }
            if Self.openAPIMethods.contains(method) {
                paths[index].operations.append(JSONMember(method, operation))
            } else {
                // A path item has a member for the eight methods of OpenAPI 3.1 only (another key
                // makes the document invalid). Others (PURGE, QUERY, …) go under an extension keyed by
                // the method as served, as 3.2's `additionalOperations` would hold them.
                others[path, default: []].append(JSONMember(registration.method, operation))
            }
        }
        for index in paths.indices {
            if let extra = others[paths[index].path] {
                paths[index].operations.append(JSONMember("x-plughost-additional-operations", .object(extra)))
            }
        }
        return .object([
            JSONMember("openapi", "3.1.0"),
            JSONMember("info", .object([
                JSONMember("title", "plughost"),
                JSONMember("version", .string("generation \(generation)")),
                JSONMember("description", "The endpoints the plugins of this generation serve. Typed endpoints carry their parameters, bodies and results; raw endpoints answer whatever their plugin writes."),
            ])),
            JSONMember("paths", .object(paths.map { JSONMember($0.path, .object($0.operations)) })),
            JSONMember("components", .object([
                JSONMember("schemas", .object([
                    JSONMember("HostError", .object([
                        JSONMember("type", "object"),
                        JSONMember("required", .array(["error"])),
                        JSONMember("properties", .object([
                            JSONMember("error", .object([JSONMember("type", "string")])),
                            JSONMember("plugin", .object([JSONMember("type", "string")])),
                            JSONMember("parameter", .object([JSONMember("type", "string")])),
                            JSONMember("path", .object([JSONMember("type", "string")])),
                            JSONMember("reason", .object([JSONMember("type", "string")])),
                            JSONMember("message", .object([JSONMember("type", "string")])),
                        ])),
                        JSONMember("description", "What the host answers for a request it refused or a plugin that failed."),
                    ])),
                ])),
            ])),
        ])
    }

    /// The methods a path item of OpenAPI 3.1 names, lower-case as its keys are.
    static let openAPIMethods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    /// `/calc/add/:a/:b` as `/calc/add/{a}/{b}`.
    static func openAPIPath(_ pattern: PathPattern) -> String {
        "/" + pattern.segments.map { segment in
            switch segment {
            case .literal(let text): text
            case .capture(let name): "{\(name)}"
            }
        }.joined(separator: "/")
    }

    /// `calc_post_calc_stats`: the alias, the method and the path's words.
    static func operationID(_ registration: EndpointRegistration) -> String {
        let words = [registration.owner.alias, registration.method.lowercased()] + registration.pattern.segments.map { segment in
            switch segment {
            case .literal(let text), .capture(let text): text
            }
        }
        let joined = words.joined(separator: "_")
        return String(joined.unicodeScalars.map { scalar -> Character in
            scalar.properties.isAlphabetic && scalar.isASCII || ("0"..."9").contains(scalar) ? Character(scalar) : "_"
        })
    }

    private static func operation(_ registration: EndpointRegistration, id: String) -> JSONValue {
        let alias = registration.owner.alias
        var members: [JSONMember] = [JSONMember("operationId", .string(id)), JSONMember("tags", .array([.string(alias)]))]
        let errorContent = JSONValue.object([JSONMember("application/json", .object([
            JSONMember("schema", .object([JSONMember("$ref", "#/components/schemas/HostError")])),
        ]))])
        func response(_ description: String, content: JSONValue? = nil) -> JSONValue {
            .object([JSONMember("description", .string(description))] + (content.map { [JSONMember("content", $0)] } ?? []))
        }
        guard let typed = registration.typed else {
            members.append(JSONMember("description", .string("A \(registration.kindName) endpoint of plugin '\(alias)': it reads the request and writes the answer itself.")))
            let captures = registration.pattern.captureNames.map { name in
                parameter(name, in: "path", schema: .object([JSONMember("type", "string")]))
            }
            if !captures.isEmpty { members.append(JSONMember("parameters", .array(captures))) }
            members.append(JSONMember("responses", .object([JSONMember("default", response("Whatever the plugin answers."))])))
            members.append(JSONMember("x-plughost-plugin", .string(alias)))
            members.append(JSONMember("x-plughost-kind", .string(registration.kindName)))
            return .object(members)
        }
        if let summary = typed.summary, !summary.isEmpty { members.append(JSONMember("summary", .string(summary))) }
        var parameters: [JSONValue] = []
        // A parameter is listed once per name and location (a document listing one twice is
        // invalid): two that read the same query key or header get the same value, so the first
        // one's type stands for both. Header names are compared ignoring case, as HTTP does.
        var listed = Set<String>()
        func add(_ name: String, in location: String, schema: JSONValue, description: String? = nil) {
            guard listed.insert(location + " " + (location == "header" ? name.lowercased() : name)).inserted else { return }
            parameters.append(parameter(name, in: location, schema: schema, description: description))
        }
        var requestBody: JSONValue?
        for input in typed.parameters {
            switch input.source {
            case ph_source_t(PH_SOURCE_PATH): add(input.name, in: "path", schema: schema(of: input.type))
            case ph_source_t(PH_SOURCE_QUERY): add(input.name, in: "query", schema: schema(of: input.type))
            case ph_source_t(PH_SOURCE_HEADER): add(input.name, in: "header", schema: schema(of: input.type))
            case ph_source_t(PH_SOURCE_BODY):
                let (mediaType, bodySchema): (String, JSONValue) = switch input.type {
                case ph_type_t(PH_TYPE_JSON): ("application/json", typed.bodySchema?.document ?? .object([]))
                case ph_type_t(PH_TYPE_BYTES): ("application/octet-stream", .object([JSONMember("type", "string"), JSONMember("contentMediaType", "application/octet-stream")]))
                default: ("text/plain", schema(of: input.type))
                }
                requestBody = .object([
                    JSONMember("required", true),
                    JSONMember("content", .object([JSONMember(mediaType, .object([JSONMember("schema", bodySchema)]))])),
                ])
            default:
                break  // a wrapper provides it
            }
        }
        // Every `{name}` of the path must be declared as a path parameter, also a capture that
        // no parameter of the function reads: the route still matches any segment there.
        for name in registration.pattern.captureNames {
            add(name, in: "path", schema: .object([JSONMember("type", "string")]),
                description: "Matched by the route; the function does not read it.")
        }
        if !parameters.isEmpty { members.append(JSONMember("parameters", .array(parameters))) }
        if let requestBody { members.append(JSONMember("requestBody", requestBody)) }
        var responses: [JSONMember] = []
        if typed.status == 204 {
            responses.append(JSONMember("204", response("Done; no content.")))
        } else {
            let resultSchema: JSONValue = typed.result == ph_type_t(PH_TYPE_JSON)
                ? (typed.resultSchema?.document ?? .object([]))
                : (typed.answersJSON ? resultSchema(of: typed.result) : .object([JSONMember("type", "string")]))
            responses.append(JSONMember(String(typed.status), response(
                "The result of plugin '\(alias)'.",
                content: .object([JSONMember(typed.contentType, .object([JSONMember("schema", resultSchema)]))]))))
        }
        if typed.parameters.contains(where: { $0.source != ph_source_t(PH_SOURCE_PLUGIN) }) {
            responses.append(JSONMember("400", response("A parameter or the body did not parse or match its schema; `parameter` and `path` say which.", content: errorContent)))
        }
        responses.append(JSONMember("500", response("The plugin failed, or answered a result that breaks its declared type or schema.", content: errorContent)))
        members.append(JSONMember("responses", .object(responses)))
        members.append(JSONMember("x-plughost-plugin", .string(alias)))
        members.append(JSONMember("x-plughost-kind", typed.mayDefer ? "typed-async" : "typed"))
        return .object(members)
    }

    private static func parameter(_ name: String, in location: String, schema: JSONValue, description: String? = nil) -> JSONValue {
        .object([JSONMember("name", .string(name)), JSONMember("in", .string(location))]
            + (description.map { [JSONMember("description", .string($0))] } ?? [])
            + [JSONMember("required", true), JSONMember("schema", schema)])
    }

    /// The JSON Schema of a parameter's type.
    private static func schema(of type: ph_type_t) -> JSONValue {
        switch type {
        case ph_type_t(PH_TYPE_BOOL): .object([JSONMember("type", "boolean")])
        case ph_type_t(PH_TYPE_INT32): .object([JSONMember("type", "integer"), JSONMember("format", "int32")])
        case ph_type_t(PH_TYPE_INT64): .object([JSONMember("type", "integer"), JSONMember("format", "int64")])
        case ph_type_t(PH_TYPE_UINT64): .object([JSONMember("type", "integer"), JSONMember("minimum", 0)])
        case ph_type_t(PH_TYPE_DOUBLE): .object([JSONMember("type", "number"), JSONMember("format", "double")])
        default: .object([JSONMember("type", "string")])
        }
    }

    /// The JSON Schema of a typed function's result: a double or a string may answer `null`.
    private static func resultSchema(of type: ph_type_t) -> JSONValue {
        switch type {
        case ph_type_t(PH_TYPE_VOID): .object([JSONMember("type", "null")])
        case ph_type_t(PH_TYPE_DOUBLE): .object([JSONMember("type", .array(["number", "null"])), JSONMember("format", "double")])
        case ph_type_t(PH_TYPE_STRING): .object([JSONMember("type", .array(["string", "null"]))])
        default: schema(of: type)
        }
    }
}
