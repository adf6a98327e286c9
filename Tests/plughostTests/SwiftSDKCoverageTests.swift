import Foundation
import PluginTestSupport
import Testing

/// The Swift SDK reaches every function of the C ABI without a C type.
///
/// The test reads the function members of the structs in `plugin.h` and `http.h` (the
/// host's tables a plugin calls, and the descriptor a plugin fills in), and holds the
/// Swift API that reaches each. It fails when the headers gain a function the table does
/// not list, when the Swift API named is not a public declaration of the SDK, or when the
/// SDK's sources never use the C function.
@Suite("Swift SDK coverage of the C ABI")
struct SwiftSDKCoverageTests {
    /// C struct, function member → the Swift API that reaches it.
    static let reach: [String: [String: String]] = [
        "ph_host": [
            "log": "PluginHost.log(_:_:)", "event_id": "PluginHost.eventID(_:)", "subscribe": "PluginHost.subscribe(to:priority:_:)",
            "subscribe_check": "PluginHost.subscribeCheck(to:priority:_:)", "publish": "PluginHost.publish(_:payload:)",
            "check": "PluginHost.check(_:payload:)", "provide_service": "PluginHost.provide(service:id:)",
            "get_service": "PluginHost.service(_:as:)", "cache_set": "PluginHost.cacheSet(_:_:ttlMilliseconds:)",
            "cache_get": "PluginHost.cacheGet(_:)", "cache_invalidate": "PluginHost.cacheInvalidate(prefix:)",
            "get_extension": "PluginHost.http",
        ],
        "ph_config": [
            "key_at": "PluginConfig.keys", "get_string": "PluginConfig.string(_:)", "get_int": "PluginConfig.int(_:)",
            "get_double": "PluginConfig.double(_:)", "get_bool": "PluginConfig.bool(_:)",
        ],
        "ph_plugin": [
            "parse_config": "Plugin.validate(config:)", "create": "Plugin.init(host:)", "start": "Plugin.start()",
            "stop": "Plugin.stop()", "destroy": "Plugin (released)", "get_extension": "Plugin.pluginExtension(_:)",
            "save_state": "Plugin.saveState()", "restore_state": "Plugin.restoreState(_:from:)",
        ],
        "ph_http": [
            "register_endpoint": "HTTPRegistrar.endpoint(_:_:_:)", "register_typed_endpoint": "HTTPRegistrar.typedEndpoint(_:_:parameters:handler:)",
            "register_wrapper": "HTTPRegistrar.wrapper(_:phase:match:accepts:_:)", "method": "HTTPExchange.method",
            "path": "HTTPExchange.path", "path_param": "HTTPExchange.pathParameter(_:)", "query": "HTTPExchange.query(_:)",
            "header": "HTTPExchange.header(_:)", "body": "HTTPExchange.body", "set_request_header": "HTTPExchange.setRequestHeader(_:_:)",
            "status": "HTTPExchange.status", "set_status": "HTTPExchange.status", "set_header": "HTTPExchange.setHeader(_:_:)",
            "response_body": "HTTPExchange.responseBody", "set_body": "HTTPExchange.setBody(_:)", "call_next": "HTTPExchange.callNext()",
            "set_property": "HTTPExchange.setProperty(_:_:)", "get_property": "HTTPExchange.propertyValue(_:)",
            "param": "HTTPExchange.parameter(_:)", "resume": "HTTPRegistrar.asyncEndpoint(_:_:_:)",
            "on_cancel": "HTTPRegistrar.asyncEndpoint(_:_:_:)",
        ],
    ]

    /// The function members (`ret (*name)(…)`) of each `struct NAME { … }` in `header`.
    static func functionMembers(of header: String) throws -> [String: Set<String>] {
        let text = try String(contentsOfFile: Fixtures.repositoryRoot + "/PluginSDK/include/plughost/" + header, encoding: .utf8)
        let structs = try Regex(#"(?:typedef )?struct (ph_[a-z_]+) \{(.*?)\n\}"#).dotMatchesNewlines()
        // A member starts its line (`ret (*name)(…`); a function-pointer parameter inside it does not.
        let member = try Regex(#"(?m)^\s+[a-z0-9_ *]+\(\*([a-z_]+)\)\("#)
        var found: [String: Set<String>] = [:]
        for match in text.matches(of: structs) {
            let name = String(match.output[1].substring!)
            let body = String(match.output[2].substring!)
            let functions = Set(body.matches(of: member).map { String($0.output[1].substring!) })
            if !functions.isEmpty { found[name] = functions }
        }
        return found
    }

    /// Every Swift source of the SDK, as one text.
    static func sdkSources() throws -> String {
        let folder = Fixtures.repositoryRoot + "/PluginSDK/Swift"
        return try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".swift") }.sorted()
            .map { try String(contentsOfFile: folder + "/" + $0, encoding: .utf8) }.joined(separator: "\n")
    }

    @Test("every C function of plugin.h and http.h has a Swift API that reaches it")
    func everyFunctionIsReached() throws {
        var functions = try Self.functionMembers(of: "plugin.h")
        functions.merge(try Self.functionMembers(of: "http.h")) { $0.union($1) }
        // The tables plugins use and fill in; ph_endpoint_t and friends are registration structs the SDK fills.
        for name in ["ph_host", "ph_config", "ph_plugin", "ph_http"] {
            let members = try #require(functions[name], "no struct \(name) with function members in the headers")
            let listed = Set(Self.reach[name]?.keys.map { $0 } ?? [])
            #expect(members.subtracting(listed).isEmpty, "\(name): no Swift API listed for \(members.subtracting(listed).sorted())")
            #expect(listed.subtracting(members).isEmpty, "\(name): listed but not in the header: \(listed.subtracting(members).sorted())")
        }
        let sources = try Self.sdkSources()
        for (name, members) in Self.reach {
            for (function, swift) in members {
                // The SDK calls the host's function (`.pointee.NAME(`), or fills the descriptor's member (`NAME: {`).
                let calls = sources.contains(".pointee.\(function)(") || sources.contains("\(function): {")
                    || sources.contains(".\(function) = {")
                #expect(calls, "\(name).\(function): the SDK's sources never use it (said to be reached by \(swift))")
                // The Swift API is a public declaration of the SDK.
                let parts = swift.split(separator: ".", maxSplits: 1)
                guard parts.count == 2 else { continue }
                let member = parts[1].prefix { $0 != "(" }
                // A public function or property, or a requirement of the Plugin protocol (indented, not public).
                let declaration = try Regex(#"(public (static )?(func|var) |\n    (static )?func )"# + member + #"[<(: ]"#)
                let declared = member == "init" || sources.contains(declaration)
                #expect(declared, "\(swift) is not declared in the SDK")
            }
        }
    }

    @Test("the wrapper types the SDK's documentation names expose their C counterpart as a public `raw`")
    func rawProperties() throws {
        let sources = try Self.sdkSources()
        for type in ["PluginHost", "PluginConfig", "PluginEvent", "HTTPRegistrar", "HTTPExchange", "MessageService"] {
            guard let start = sources.range(of: "public struct \(type)") ?? sources.range(of: "public final class \(type)") else {
                Issue.record("\(type) is not declared")
                continue
            }
            let declaration = sources[start.lowerBound...].prefix(4000)
            #expect(declaration.contains("public let raw") || declaration.contains("public var raw"), "\(type) has no public raw")
        }
    }
}
