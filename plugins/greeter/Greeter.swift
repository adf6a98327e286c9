// greeter — an example plugin in Swift.
//
// - after the host has started, asks the "access.check" check for each
//   configured name; greets the allowed ones by publishing "greeter.greeted";
// - writes each outcome to the audit plugin's "audit.log/1" service when present;
// - counts its greetings in the host cache;
// - offers the message service "greeter.greetings/1" (request: a name, answer: its greeting);
// - serves HTTP endpoints when the host serves HTTP:
//     GET /hello?name=NAME   -> "Hello, NAME!" (raw; 403 when access.check denies NAME)
//     GET /api/greeting      -> greets the user the auth wrapper found (a request property)
//     GET /hello/later?name=NAME&ms=N -> the same greeting after an `await`
//                               (an async endpoint: no host thread waits)
//     GET /greet/:name/:times -> JSON "Hello, NAME! Hello, NAME!" (typed: the host parses
//                               `times` as an int32, 400 if it is not one; null when
//                               access.check denies NAME)
//     GET /greetings         -> JSON count of the greetings served over HTTP (typed, no
//                               parameters); the count survives hot reloads (state handoff)
//     POST /greetings        -> a Codable endpoint: the JSON body {"name": "ada", "times": 2}
//                               (a Decodable struct; the host checks it against the schema the
//                               SDK derives from the struct, 400 naming the field) answers
//                               {"name":"ada","lines":["Hello, ada!","Hello, ada!"]} (an
//                               Encodable struct); 403 {"error": …} when access.check denies NAME
//     GET /greetings/:name/later -> the same object after an `await` (an async Codable endpoint)
//   and wraps its own endpoints with "greeter-route" (a wrapper with accepts and prepare),
//   which adds `X-Greeter-Endpoint: KIND METHOD PATTERN` to each of their responses.
//
// Config ([plugin.greeter] in the host config):
//   greeting = "Hello"            # default "Hello"
//   names = ["alice", "mallory"]  # who to greet

import AuditService
import PluginSDK

final class Greeter: Plugin {
    static let info = PluginInfo(
        id: "dev.plughost.examples.greeter", version: "1.0.0",
        description: "Greets configured names after start, asking access.check first")

    static func validate(config: PluginConfig) throws {
        for key in config.keys where key != "greeting" && !key.hasPrefix("names.") {
            throw PluginFailure("unknown key '\(key)' (known: greeting, names)")
        }
        _ = try config.string("greeting")
        _ = try config.strings("names")
    }

    private let host: PluginHost
    private let greeting: String
    private let names: [String]
    private var audit: UnsafePointer<audit_service_t>?
    /// Greetings served over HTTP; handed to the next instance on a hot reload. The plugin is
    /// not thread-safe, so the host never runs two of its calls at once: no lock needed.
    private var served: Int64 = 0

    init(host: PluginHost) throws {
        self.host = host
        self.greeting = try host.config.string("greeting") ?? "Hello"
        self.names = try host.config.strings("names")
        try host.subscribe(to: "plughost.post-start") { [unowned self] _ in self.greetEveryone() }

        // A service other plugins call with a name; it answers the greeting. Called from their
        // threads, so it captures only immutable values.
        let greeting = self.greeting
        try host.provideService("greeter.greetings/1") { request in
            Array("\(greeting), \(String(decoding: request, as: UTF8.self))!".utf8)
        }

        if let http = host.http {
            try http.endpoint("GET", "/hello") { [unowned self] exchange in self.hello(exchange) }
            try http.endpoint("GET", "/api/greeting") { [unowned self] exchange in
                guard let user = exchange.property("user") else { throw PluginFailure("no user: is the auth wrapper in front of /api?") }
                exchange.setHeader("Content-Type", "text/plain; charset=utf-8")
                exchange.setBody("\(self.greeting), \(user)! You are signed in.\n")
            }
            // An async endpoint (hosts of ABI 1.2 and later): it awaits, as a handler waiting for
            // a database or another service would, and holds no host thread meanwhile.
            if http.supportsDeferral {
                try http.asyncEndpoint("GET", "/hello/later") { exchange in
                    let ms = min(max(Int(exchange.query("ms") ?? "") ?? 100, 0), 10_000)
                    try await Task.sleep(for: .milliseconds(ms))
                    exchange.setHeader("Content-Type", "text/plain; charset=utf-8")
                    exchange.setBody("\(greeting), \(exchange.query("name") ?? "world"), after \(ms) ms!\n")
                }
            }

            // Typed endpoints: the host parses and checks the parameters, the handler gets Swift
            // values, and its result is answered as JSON.
            try http.typedEndpoint("GET", "/greet/:name/:times",
                                   parameters: .string("name", from: .path), .int32("times", from: .path)) {
                [unowned self] (name: String, times: Int32) -> String? in
                if case .deny = self.host.check("access.check", text: name) { return nil }  // answers null
                self.served += 1
                let one = "\(self.greeting), \(name)!"
                return Array(repeating: one, count: Int(min(max(times, 1), 10))).joined(separator: " ")
            }
            try http.typedEndpoint("GET", "/greetings") { [unowned self] in self.served }

            // Codable endpoints (hosts of ABI 1.3 and later): a JSON body decoded into a struct, a
            // struct answered as a JSON object, errors as HTTPError.
            try http.typedEndpoint("POST", "/greetings", body: GreetingRequest.self, returning: Greeted.self,
                                   options: JSONEndpointOptions(summary: "Greets a name, up to 10 times")) {
                [unowned self] request in
                if case .deny(let reason) = self.host.check("access.check", text: request.name) {
                    throw HTTPError(403, "not greeting \(request.name): \(reason)")
                }
                self.served += 1
                return Greeted(name: request.name, lines: Greeted.lines(greeting, request.name, times: request.times ?? 1))
            }
            try http.asyncTypedEndpoint("GET", "/greetings/:name/later", parameters: .string("name", from: .path),
                                        returning: Greeted.self) { name in
                try await Task.sleep(for: .milliseconds(10))  // as a handler asking another service would
                return Greeted(name: name, lines: Greeted.lines(greeting, name, times: 1))
            }

            // A wrapper with accepts and prepare: it wraps only this plugin's endpoints (accepts,
            // once per endpoint when the host builds its endpoint table), computes each one's
            // header value once (prepare), and adds it to every response of that endpoint.
            let alias = host.alias
            try http.wrapper("greeter-route",
                             accepts: { endpoint in endpoint.owner == alias },
                             prepare: { endpoint in "\(endpoint.kind) \(endpoint.method) \(endpoint.path)" }) { exchange, route in
                exchange.setHeader("X-Greeter-Endpoint", route)
                exchange.callNext()
            }
        }
    }

    private func hello(_ exchange: HTTPExchange) {
        let name = exchange.query("name") ?? "world"
        exchange.setHeader("Content-Type", "text/plain; charset=utf-8")
        if case .deny(let reason) = host.check("access.check", text: name) {
            exchange.status = 403
            exchange.setBody("not greeting \(name): \(reason)\n")
            return
        }
        served += 1
        host.publish("greeter.greeted", text: "\(greeting), \(name)!")
        exchange.setBody("\(greeting), \(name)!\n")
    }

    func start() throws {
        audit = host.service(AUDIT_SERVICE_ID, as: audit_service_t.self)
        host.log(.info, audit == nil ? "no audit service; greeting without it" : "using the audit service")
    }

    func stop() throws {
        let count = host.cacheGet("greetings").map { String(decoding: $0, as: UTF8.self) } ?? "0"
        host.log(.info, "stopping after \(count) greeting(s)")
    }

    // State handoff (ABI 1.1): the new instance of a hot reload continues the count.
    func saveState() throws -> [UInt8]? {
        withUnsafeBytes(of: served.littleEndian) { Array($0) }
    }

    func restoreState(_ state: [UInt8], from version: String) throws {
        guard state.count == 8 else { throw PluginFailure("expected 8 bytes of state from version \(version), got \(state.count)") }
        served = Int64(littleEndian: state.withUnsafeBytes { $0.loadUnaligned(as: Int64.self) })
    }

    private func greetEveryone() {
        var greeted = 0
        for name in names {
            switch host.check("access.check", text: name) {
            case .deny(let reason):
                host.log(.warning, "not greeting \(name): \(reason)")
                record("refused \(name)")
            case .allow, .abstain:
                host.publish("greeter.greeted", text: "\(greeting), \(name)!")
                record("greeted \(name)")
                greeted += 1
            }
        }
        if case .failure(let error) = host.cacheSet("greetings", Array(String(greeted).utf8)) {
            host.log(.warning, "could not cache the greeting count: \(error)")
        }
    }

    private func record(_ line: String) {
        guard let audit else { return }
        audit.pointee.record(audit.pointee.context, line)
    }
}

/// The body of `POST /greetings`.
struct GreetingRequest: Codable, Sendable {
    /// Who to greet.
    var name: String
    /// How many times, 1 to 10 (1 when absent).
    var times: Int?
}

/// What the Codable endpoints answer.
struct Greeted: Codable, Sendable {
    /// Who was greeted.
    var name: String
    /// One greeting per time.
    var lines: [String]

    static func lines(_ greeting: String, _ name: String, times: Int) -> [String] {
        Array(repeating: "\(greeting), \(name)!", count: min(max(times, 1), 10))
    }
}

@_cdecl("greeter_entry")
public func greeterEntry(_ hostABIMajor: UInt32, _ hostABIMinor: UInt32) -> UnsafeRawPointer? {
    exportPlugin(Greeter.self, hostABIMajor: hostABIMajor)
}
