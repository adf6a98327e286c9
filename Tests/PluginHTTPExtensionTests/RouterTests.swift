import CPluginABI
import Logging
@testable import PluginHTTPExtension
import PluginRuntime
import Testing

/// The endpoint table's routing, without plugins: registrations with a C
/// handler that answers its own route name.
@Suite("Routing in the endpoint table")
struct RouterTests {
    private static let owner = PluginOwner(alias: "test", libraryPath: "test.so", logger: Logger(label: "router-test"), lock: nil)

    private static let handler: ph_handler_fn = { _, _, _ in PH_OK }

    private func table(_ routes: [(String, String)]) -> EndpointTable {
        let registrations = routes.map { method, path in
            EndpointRegistration(method: method, pattern: try! PathPattern.parse(path).get(),
                                 kind: .raw(handler: Self.handler, userData: nil), owner: Self.owner)
        }
        return EndpointTable(endpoints: registrations, wrappers: [])
    }

    private func found(_ lookup: EndpointTable.Lookup) -> (String, [(String, [UInt8])])? {
        if case .found(let route, let captures) = lookup { return ("\(route.registration.method) \(route.registration.pattern)", captures) }
        return nil
    }

    @Test("exact routes win over patterns; patterns capture; unknown paths are 404, known ones with another method 405")
    func lookups() {
        let routes = table([("GET", "/users/me"), ("GET", "/users/:id"), ("POST", "/users"), ("DELETE", "/users/:id")])
        #expect(found(routes.lookup(method: "GET", path: "/users/me"))?.0 == "GET /users/me")
        let user = found(routes.lookup(method: "GET", path: "/users/42"))
        #expect(user?.0 == "GET /users/:id" && user?.1.first?.1 == Array("42".utf8))
        guard case .methodNotAllowed(let allowed) = routes.lookup(method: "PUT", path: "/users/42") else {
            Issue.record("PUT /users/42 is not a 405")
            return
        }
        #expect(Set(allowed) == ["GET", "DELETE"])
        guard case .notFound = routes.lookup(method: "GET", path: "/groups") else {
            Issue.record("GET /groups is not a 404")
            return
        }
    }

    @Test("empty segments are ignored by exact routes, patterns and the 405 check alike",
          arguments: ["//users/me", "/users//me", "/users/me/", "//users//me//"])
    func emptySegments(path: String) {
        let routes = table([("GET", "/users/me"), ("GET", "/files/:name")])
        #expect(found(routes.lookup(method: "GET", path: path))?.0 == "GET /users/me")
        guard case .methodNotAllowed(let allowed) = routes.lookup(method: "POST", path: path) else {
            Issue.record("POST \(path) is not a 405")
            return
        }
        #expect(allowed == ["GET"])
        #expect(found(routes.lookup(method: "GET", path: "//files//a%2Fb"))?.1.first?.1 == Array("a/b".utf8))
    }

    @Test("the first registration of a method and path wins; the loser is reported")
    func conflicts() {
        let routes = table([("GET", "/a/:x"), ("GET", "/a/:y")])
        #expect(routes.listing.count == 1 && routes.listing.first?.path == "/a/:x")
        #expect(routes.warnings.count == 1 && routes.warnings.first?.code == .endpointConflict)
    }
}
