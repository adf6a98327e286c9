// greeter — an example plugin in Swift.
//
// - after the host has started, asks the "access.check" check for each
//   configured name; greets the allowed ones by publishing "greeter.greeted";
// - writes each outcome to the audit plugin's "audit.log/1" service when present;
// - counts its greetings in the host cache;
// - serves raw HTTP endpoints when the host serves HTTP:
//     GET /hello?name=NAME   -> "Hello, NAME!" (403 when access.check denies NAME)
//     GET /api/greeting      -> greets the user the auth wrapper found
//     GET /hello/later?name=NAME&ms=N -> the same greeting after an `await`
//                               (an async endpoint: no host thread waits)
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

    init(host: PluginHost) throws {
        self.host = host
        self.greeting = try host.config.string("greeting") ?? "Hello"
        self.names = try host.config.strings("names")
        try host.subscribe(to: "plughost.post-start") { [unowned self] _ in self.greetEveryone() }
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
                let greeting = self.greeting
                try http.asyncEndpoint("GET", "/hello/later") { exchange in
                    let ms = min(max(Int(exchange.query("ms") ?? "") ?? 100, 0), 10_000)
                    try await Task.sleep(for: .milliseconds(ms))
                    exchange.setHeader("Content-Type", "text/plain; charset=utf-8")
                    exchange.setBody("\(greeting), \(exchange.query("name") ?? "world"), after \(ms) ms!\n")
                }
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
        host.cacheSet("greetings", Array(String(greeted).utf8))
    }

    private func record(_ line: String) {
        guard let audit else { return }
        audit.pointee.record(audit.pointee.context, line)
    }
}

@_cdecl("greeter_entry")
public func greeterEntry(_ hostABIMajor: UInt32, _ hostABIMinor: UInt32) -> UnsafeRawPointer? {
    exportPlugin(Greeter.self, hostABIMajor: hostABIMajor)
}
