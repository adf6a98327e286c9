// Test fixture: a Swift plugin that logs what it sees to the file in its
// config's `log` key, in the same "<alias> <what> [<detail>]" format as recorder.c.
import PluginSDK
#if canImport(Glibc)
import Glibc
#endif

final class SwiftRecorder: Plugin {
    static let info = PluginInfo(id: "test.swift-recorder", version: "3.0.0", description: "records in Swift")

    static func validate(config: PluginConfig) throws {
        for key in config.keys where !["log", "deny", "fail", "counter"].contains(key) {
            throw PluginFailure("unknown key '\(key)'")
        }
        guard try config.string("log") != nil else { throw PluginFailure("key 'log' is required") }
    }

    private let host: PluginHost
    private let log: String
    private let fail: String
    private var pings = 0

    init(host: PluginHost) throws {
        self.host = host
        self.log = try host.config.string("log")!
        self.fail = try host.config.string("fail") ?? ""
        let deny = try host.config.string("deny")
        record("create")
        if fail == "create" { throw PluginFailure("asked to fail in create") }
        try host.subscribe(to: "test.ping") { [unowned self] event in
            self.pings += 1
            self.record("test.ping \(event.text) #\(self.pings)")
        }
        try host.subscribe(to: "plughost.post-start") { [unowned self] _ in self.record("plughost.post-start") }
        try host.subscribeCheck(to: "test.check") { [unowned self] event in
            self.record("check \(event.text)")
            return event.text == deny ? .deny("swift denies \(event.text)") : .abstain
        }
        if let http = host.http {
            // A wrapper that sets a property and a header, around an endpoint that reads them.
            try http.wrapper("swift-user", match: "/swift/" + "*") { exchange in
                exchange.setProperty("user", "swifty")
                exchange.callNext()
                exchange.setHeader("X-Swift-Wrapped", "status \(exchange.status)")
            }
            try http.endpoint("GET", "/swift/hello/:name") { exchange in
                let greeting = exchange.header("X-Greeting") ?? "hi"
                let name = exchange.pathParameter("name") ?? "?"
                let times = exchange.query("times") ?? "1"
                exchange.status = 201
                exchange.setHeader("Content-Type", "text/plain")
                exchange.setBody("\(greeting) \(name) x\(times) as \(exchange.property("user") ?? "nobody") via \(exchange.method) \(exchange.path)")
            }
            try http.endpoint("POST", "/swift/fail") { exchange in
                throw PluginFailure("swift endpoint failed on \(exchange.body.count) bytes")
            }
        }
    }

    deinit { record("destroy") }

    func start() throws {
        record("start")
        if fail == "start" { throw PluginFailure("asked to fail in start") }
        host.cacheSet("k", Array("v".utf8))
        record("cache \(host.cacheGet("k").map { String(decoding: $0, as: UTF8.self) } ?? "miss")")
    }

    func stop() throws { record("stop") }

    private func record(_ line: String) {
        let text = "\(host.alias) \(line)\n"
        let fd = open(log, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard fd >= 0 else { return }
        _ = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        close(fd)
    }
}

@_cdecl("swift_recorder_entry")
public func swiftRecorderEntry(_ major: UInt32, _ minor: UInt32) -> UnsafeRawPointer? {
    exportPlugin(SwiftRecorder.self, hostABIMajor: major)
}
