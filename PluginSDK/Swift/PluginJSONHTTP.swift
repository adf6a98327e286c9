import CPluginABI
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Thrown by a JSON endpoint's handler to answer an error status of its choice, with the
/// body `{"error": message}` (any other error answers 500 naming the plugin).
///
/// ```swift
/// // fragment: statements
/// throw HTTPError(404, "no forecast for Atlantis")
/// ```
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    /// The status, 400–599.
    public let status: Int
    /// What went wrong, sent as `{"error": message}`.
    public let message: String

    /// An error answering `status` (clamped to 400–599) with `message`.
    public init(_ status: Int, _ message: String) {
        self.status = min(max(status, 400), 599)
        self.message = message
    }

    public var description: String { "\(status): \(message)" }
}

/// What a JSON endpoint answers on success, and how it is described.
public struct JSONEndpointOptions: Sendable {
    /// The status of a successful answer, 200–299.
    public var status: Int
    /// One line for the OpenAPI document.
    public var summary: String?
    /// A JSON Schema for the body, as JSON text, instead of the one derived from the body type.
    public var bodySchema: String?
    /// A JSON Schema for the result, as JSON text, instead of the one derived from the result
    /// type (derived only when the result type is also `Decodable`).
    public var resultSchema: String?

    /// Options; every one may be left out.
    public init(status: Int = 200, summary: String? = nil, bodySchema: String? = nil, resultSchema: String? = nil) {
        self.status = status
        self.summary = summary
        self.bodySchema = bodySchema
        self.resultSchema = resultSchema
    }
}

extension HTTPRegistrar {
    /// Registers a typed endpoint answering a JSON object: the host parses and checks the
    /// parameters (a 400 naming the bad one before your code runs), `handler` returns an
    /// `Encodable` value, and the host answers it as `application/json` with the options'
    /// status, after checking it against the result's schema.
    ///
    /// ```swift
    /// struct Forecast: Codable { var city: String; var days: Int32; var forecast: [String] }
    ///
    /// func register(_ http: HTTPRegistrar) throws {
    ///     try http.typedEndpoint("GET", "/weather/:city/:days",
    ///                            parameters: .string("city", from: .path), .int32("days", from: .path),
    ///                            returning: Forecast.self) { city, days in
    ///         guard days <= 14 else { throw HTTPError(400, "at most 14 days") }
    ///         return Forecast(city: city, days: days, forecast: Array(repeating: "sunny", count: Int(days)))
    ///     }
    /// }
    /// ```
    ///
    /// Throw ``HTTPError`` to answer an error status; any other error answers 500 naming the
    /// plugin. `handler` runs on a host thread serving the request (the event loop with ``PluginInfo/neverBlocks``, else the host's blocking pool) (under the plugin's lock unless
    /// it is thread-safe); ``asyncTypedEndpoint(_:_:parameters:returning:options:handler:)`` runs
    /// one that waits. The endpoint is listed in `GET /_plughost/openapi.json` with its result schema.
    /// - Throws: When the host refuses the endpoint (it needs ABI 1.3).
    public func typedEndpoint<each Value: TypedValueConvertible, Result: Encodable>(
        _ method: String, _ path: String, parameters: repeat TypedParameter<each Value>,
        returning result: Result.Type, options: JSONEndpointOptions = JSONEndpointOptions(),
        handler: @escaping (repeat each Value) throws -> Result
    ) throws {
        let infos = Self.infos(repeat each parameters)
        let names = infos.map(\.name)
        try registerJSON(method, path, infos, body: nil, result: Result.self, options: options, mayDefer: false) { exchange in
            let arguments = try JSONExchange.arguments(exchange, names, as: repeat (each Value).self)
            try JSONExchange.answer(try handler(repeat each arguments), exchange)
        }
    }

    /// Registers a typed endpoint taking a JSON body decoded into `Body` and answering a JSON
    /// object; `handler` takes the body first, then the parameters. The host checks the body is JSON valid against `Body`'s schema (derived from the
    /// type, or ``JSONEndpointOptions/bodySchema``) and answers 400 naming the failing field
    /// before your code runs.
    ///
    /// ```swift
    /// struct Greeting: Codable { var name: String; var times: Int }
    /// struct Greeted: Codable { var lines: [String] }
    ///
    /// func register(_ http: HTTPRegistrar) throws {
    ///     try http.typedEndpoint("POST", "/greet", body: Greeting.self, returning: Greeted.self) { greeting in
    ///         Greeted(lines: Array(repeating: "Hello, \(greeting.name)!", count: greeting.times))
    ///     }
    /// }
    /// ```
    public func typedEndpoint<each Value: TypedValueConvertible, Body: Decodable, Result: Encodable>(
        _ method: String, _ path: String, parameters: repeat TypedParameter<each Value>,
        body: Body.Type, returning result: Result.Type, options: JSONEndpointOptions = JSONEndpointOptions(),
        handler: @escaping (Body, repeat each Value) throws -> Result
    ) throws {
        let infos = Self.infos(repeat each parameters)
        let names = infos.map(\.name)
        try registerJSON(method, path, infos, body: Body.self, result: Result.self, options: options, mayDefer: false) { exchange in
            let arguments = try JSONExchange.arguments(exchange, names, as: repeat (each Value).self)
            let decoded = try JSONExchange.body(Body.self, exchange)
            try JSONExchange.answer(try handler(decoded, repeat each arguments), exchange)
        }
    }

    /// ``typedEndpoint(_:_:parameters:returning:options:handler:)`` whose handler may wait
    /// without holding a host thread (as ``asyncEndpoint(_:_:_:)``): the host's thread moves
    /// on, the handler runs as a task, and the answer goes out when it returns. The host giving
    /// up on the request (deadline, client gone, shutdown) cancels the task.
    ///
    /// ```swift
    /// struct Forecast: Codable { var city: String; var forecast: [String] }
    ///
    /// func register(_ http: HTTPRegistrar) throws {
    ///     try http.asyncTypedEndpoint("GET", "/forecast/:city", parameters: .string("city", from: .path),
    ///                                 returning: Forecast.self) { city in
    ///         try await Task.sleep(for: .milliseconds(10))   // ask a weather service, say
    ///         return Forecast(city: city, forecast: ["sunny"])
    ///     }
    /// }
    /// ```
    public func asyncTypedEndpoint<each Value: TypedValueConvertible & Sendable, Result: Encodable & Sendable>(
        _ method: String, _ path: String, parameters: repeat TypedParameter<each Value>,
        returning result: Result.Type, options: JSONEndpointOptions = JSONEndpointOptions(),
        handler: @escaping @Sendable (repeat each Value) async throws -> Result
    ) throws {
        let infos = Self.infos(repeat each parameters)
        let names = infos.map(\.name)
        let api = self.api
        try registerJSON(method, path, infos, body: nil, result: Result.self, options: options, mayDefer: true) { exchange in
            let arguments = try JSONExchange.arguments(exchange, names, as: repeat (each Value).self)
            let sendable = SendableArguments(arguments: (repeat each arguments))
            AsyncRequest.start(exchange, api: api) { exchange in
                try await JSONExchange.answerAsync(exchange) { try await handler(repeat each sendable.arguments) }
            }
            throw DeferredSignal()
        }
    }

    /// ``typedEndpoint(_:_:parameters:body:returning:options:handler:)`` whose handler may
    /// wait without holding a host thread (see ``asyncTypedEndpoint(_:_:parameters:returning:options:handler:)``).
    public func asyncTypedEndpoint<each Value: TypedValueConvertible & Sendable, Body: Decodable & Sendable, Result: Encodable & Sendable>(
        _ method: String, _ path: String, parameters: repeat TypedParameter<each Value>,
        body: Body.Type, returning result: Result.Type, options: JSONEndpointOptions = JSONEndpointOptions(),
        handler: @escaping @Sendable (Body, repeat each Value) async throws -> Result
    ) throws {
        let infos = Self.infos(repeat each parameters)
        let names = infos.map(\.name)
        let api = self.api
        try registerJSON(method, path, infos, body: Body.self, result: Result.self, options: options, mayDefer: true) { exchange in
            let arguments = try JSONExchange.arguments(exchange, names, as: repeat (each Value).self)
            let decoded: Body
            do { decoded = try JSONExchange.body(Body.self, exchange) } catch let error as HTTPError {
                JSONExchange.answer(error, exchange)
                return
            }
            let sendable = SendableArguments(arguments: (repeat each arguments))
            let sendableBody = SendableArguments(arguments: decoded)
            AsyncRequest.start(exchange, api: api) { exchange in
                try await JSONExchange.answerAsync(exchange) { try await handler(sendableBody.arguments, repeat each sendable.arguments) }
            }
            throw DeferredSignal()
        }
    }

    /// Registers a handler-form typed endpoint (ABI 1.3) with a JSON result and, when `body`
    /// is given, a JSON body parameter named "body".
    func registerJSON<Result>(_ method: String, _ path: String, _ parameters: [EndpointInfo.Parameter],
                              body: (any Decodable.Type)?, result: Result.Type, options: JSONEndpointOptions,
                              mayDefer: Bool, _ handler: @escaping (HTTPExchange) throws -> Void) throws {
        guard Int(api.pointee.struct_size) >= MemoryLayout<ph_http_t>.size, host.raw.pointee.abi_minor >= 3 else {
            throw PluginFailure("\(method) \(path): JSON endpoints need a host of ABI 1.3 or later")
        }
        var parameters = parameters
        if body != nil {
            guard !parameters.contains(where: { $0.name == "body" }) else {
                throw PluginFailure("\(method) \(path): a parameter is named 'body', the name of the JSON body")
            }
            parameters.append(EndpointInfo.Parameter(name: "body", source: .body, kind: .json))
        }
        guard Set(parameters.map(\.name)).count == parameters.count else {
            throw PluginFailure("\(method) \(path): two parameters have the same name")
        }
        let bodySchema = options.bodySchema ?? body.flatMap { JSONSchemaProbe.schema(for: $0) }
        let resultSchema = options.resultSchema ?? (Result.self as? any Decodable.Type).flatMap { JSONSchemaProbe.schema(for: $0) }
        let box = HTTPHandlerBox(api: api) { exchange in
            do { try handler(exchange) } catch let error as HTTPError { JSONExchange.answer(error, exchange) }
        }
        let status = method.withCString { cMethod in
            path.withCString { cPath in
                bodySchema.withOptionalCString { cBodySchema in
                    resultSchema.withOptionalCString { cResultSchema in
                        options.summary.withOptionalCString { cSummary in
                            parameters.withCParameters { list in
                                var endpoint = ph_typed_endpoint_t()
                                endpoint.struct_size = UInt32(MemoryLayout<ph_typed_endpoint_t>.size)
                                endpoint.method = cMethod
                                endpoint.path = cPath
                                endpoint.params = UnsafePointer(list.baseAddress)
                                endpoint.param_count = list.count
                                endpoint.result = ph_type_t(PH_TYPE_JSON)
                                endpoint.status = UInt32(clamping: options.status)
                                endpoint.flags = mayDefer ? UInt32(PH_MAY_DEFER) : 0
                                endpoint.body_schema = cBodySchema
                                endpoint.result_schema = cResultSchema
                                endpoint.summary = cSummary
                                endpoint.handler = { userData, request, error in
                                    Unmanaged<HTTPHandlerBox>.fromOpaque(userData!).takeUnretainedValue().run(request!, error)
                                }
                                endpoint.user_data = Unmanaged.passUnretained(box).toOpaque()
                                return registering { api.pointee.register_typed_endpoint(host.raw, &endpoint, $0) }
                            }
                        }
                    }
                }
            }
        }
        try check(status)
        host.retain(box)
    }
}

/// Arguments carried into an async endpoint's task: the host lets one thread at a time use them.
struct SendableArguments<Arguments>: @unchecked Sendable {
    let arguments: Arguments
}

/// Reading a JSON endpoint's inputs and writing its answer.
enum JSONExchange {
    /// The parsed parameters `names` as the handler's types, in order.
    static func arguments<each Value: TypedValueConvertible>(
        _ exchange: HTTPExchange, _ names: [String], as types: repeat (each Value).Type
    ) throws -> (repeat each Value) {
        var index = 0
        var refused: String?
        func next<T: TypedValueConvertible>(_ type: T.Type) -> T? {
            defer { index += 1 }
            guard let value = exchange.parameter(names[index]), let converted = T(value) else {
                refused = refused ?? "\(T.self) refused parameter '\(names[index])' (\(exchange.parameter(names[index]).map { "\($0)" } ?? "absent"))"
                return nil
            }
            return converted
        }
        let converted = (repeat next(each types))
        if let refused { throw PluginFailure(refused) }
        return (repeat (each converted)!)
    }

    /// The JSON body decoded as `Body`; a body the type refuses is a 400 naming the field.
    static func body<Body: Decodable>(_ type: Body.Type, _ exchange: HTTPExchange) throws -> Body {
        guard case .json(let text)? = exchange.parameter("body") else {
            throw PluginFailure("the host handed no JSON body")
        }
        do {
            return try JSONDecoder().decode(Body.self, from: Data(text))
        } catch let error as DecodingError {
            throw HTTPError(400, "invalid body: \(describe(error))")
        }
    }

    /// A decoding error as "at /path: what".
    static func describe(_ error: DecodingError) -> String {
        func pointer(_ path: [any CodingKey]) -> String {
            path.isEmpty ? "/" : path.map { "/" + ($0.intValue.map(String.init) ?? $0.stringValue) }.joined()
        }
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "at \(pointer(context.codingPath)): \(context.debugDescription)"
        case .keyNotFound(let key, let context):
            return "at \(pointer(context.codingPath + [key])): required property '\(key.stringValue)' is missing"
        @unknown default:
            return "\(error)"
        }
    }

    /// Answers `result` as JSON, its keys sorted (the same value answers the same bytes).
    static func answer<Result: Encodable>(_ result: Result, _ exchange: HTTPExchange) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(result)
        exchange.setHeader("Content-Type", "application/json")
        exchange.setBody(Array(data))
    }

    /// Answers `error`'s status with `{"error": message}`.
    static func answer(_ error: HTTPError, _ exchange: HTTPExchange) {
        exchange.status = error.status
        exchange.setHeader("Content-Type", "application/json")
        let body = (try? JSONEncoder().encode(["error": error.message])).map { Array($0) } ?? Array(#"{"error":"error"}"#.utf8)
        exchange.setBody(body)
    }

    /// Runs an async handler and answers its result, or its ``HTTPError``.
    static func answerAsync<Result: Encodable>(_ exchange: HTTPExchange, _ handler: () async throws -> Result) async throws {
        do {
            try answer(try await handler(), exchange)
        } catch let error as HTTPError {
            answer(error, exchange)
        }
    }
}
