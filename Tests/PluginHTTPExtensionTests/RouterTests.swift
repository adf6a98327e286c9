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

    @Test("a literal segment wins over a capture at the same depth, backing up when it leads nowhere")
    func specificity() {
        let routes = table([("GET", "/a/:x/c"), ("GET", "/a/b/:y"), ("GET", "/a/b/c/d"), ("GET", "/:any/b/c/e")])
        #expect(found(routes.lookup(method: "GET", path: "/a/b/c"))?.0 == "GET /a/b/:y")
        #expect(found(routes.lookup(method: "GET", path: "/a/z/c"))?.0 == "GET /a/:x/c")
        #expect(found(routes.lookup(method: "GET", path: "/a/b/c/d"))?.0 == "GET /a/b/c/d")
        // The literal branch /a/b/c has no child 'e': the walk backs up to the capture at the root.
        let backed = found(routes.lookup(method: "GET", path: "/a/b/c/e"))
        #expect(backed?.0 == "GET /:any/b/c/e" && backed?.1.first?.1 == Array("a".utf8))
    }

    @Test("the root, paths longer than any route, and methods are told apart by bytes")
    func edges() {
        let routes = table([("GET", "/"), ("GET", "/x"), ("GETX", "/x")])
        #expect(found(routes.lookup(method: "GET", path: "/"))?.0 == "GET /")
        #expect(found(routes.lookup(method: "GET", path: "///"))?.0 == "GET /")
        #expect(found(routes.lookup(method: "GETX", path: "/x"))?.0 == "GETX /x")
        guard case .notFound = routes.lookup(method: "GET", path: "/x/y/z/w/v/u/t/s/r/q/p/o/n/m") else {
            Issue.record("a path deeper than every route is not a 404")
            return
        }
        guard case .methodNotAllowed(let allowed) = routes.lookup(method: "PUT", path: "/x") else {
            Issue.record("PUT /x is not a 405")
            return
        }
        #expect(allowed == ["GET", "GETX"])
    }

    @Test("the byte router agrees with the reference pattern match on every path of a small alphabet")
    func agreesWithReference() {
        // Every path of up to 4 segments over {a, b, %61, ''} against patterns mixing literals and captures.
        let patterns = ["/a", "/a/:x", "/:x/b", "/a/b/:y", "/:x/:y/:z", "/b/a/b/a"]
        let routes = table(patterns.map { ("GET", $0) })
        let parts = ["a", "b", "%61", ""]
        var paths = [""]
        for _ in 0..<4 { paths = paths + paths.flatMap { prefix in parts.map { prefix + "/" + $0 } } }
        for path in Set(paths) where !path.isEmpty {
            let segments = path.split(separator: "/", omittingEmptySubsequences: true)
            // The reference: the first pattern that matches, preferring literals left to right.
            let candidates = patterns.compactMap { text -> (String, [(String, [UInt8])])? in
                let pattern = try! PathPattern.parse(text).get()
                return pattern.match(segments).map { ("GET " + text, $0) }
            }
            let best = candidates.max { a, b in specificity(a.0).lexicographicallyPrecedes(specificity(b.0)) }
            let routed = found(routes.lookup(method: "GET", path: path))
            #expect(routed?.0 == best?.0, "\(path)")
            #expect(routed.map { $0.1.map(\.1) } == best.map { $0.1.map(\.1) }, "\(path)")
        }
    }

    /// Orders patterns as the router prefers them: a literal beats a capture at the first position they differ.
    private func specificity(_ route: String) -> [Int] {
        route.split(separator: " ")[1].split(separator: "/").map { $0.hasPrefix(":") ? 0 : 1 }
    }
}
