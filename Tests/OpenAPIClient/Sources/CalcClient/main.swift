// CalcClient SERVER_URL: calls the calc example of a running plughost through the client that
// swift-openapi-generator generated from that host's own /_plughost/openapi.json (downloaded
// next to this file by check.sh); prints each result and exits 1 on any mismatch.
import Foundation
import OpenAPIRuntime
import OpenAPIURLSession

guard CommandLine.arguments.count == 2, let serverURL = URL(string: CommandLine.arguments[1]), serverURL.host != nil else {
    FileHandle.standardError.write(Data("usage: CalcClient SERVER_URL (e.g. http://127.0.0.1:8080)\n".utf8))
    exit(2)
}

let client = Client(serverURL: serverURL, transport: URLSessionTransport())
var failures = 0

@MainActor func check(_ what: String, _ answered: String, _ ok: Bool) {
    print("\(ok ? "ok  " : "FAIL") \(what) -> \(answered)")
    if !ok { failures += 1 }
}

do {
    // GET /calc/add/{a}/{b}: two int64 path parameters, an int64 result.
    switch try await client.calc_get_calc_add_a_b(path: .init(a: 2, b: 40)) {
    case .ok(let ok):
        let sum = try ok.body.json
        check("add 2 40", "\(sum)", sum == 42)
    case let other:
        check("add 2 40", "\(other)", false)
    }

    // GET /calc/divide?a=&b=: two double query parameters, a double result that may be null.
    switch try await client.calc_get_calc_divide(query: .init(a: 10, b: 4)) {
    case .ok(let ok):
        let quotient = try ok.body.json
        check("divide 10 4", "\(quotient.map { "\($0)" } ?? "null")", quotient == 2.5)
    case let other:
        check("divide 10 4", "\(other)", false)
    }
    switch try await client.calc_get_calc_divide(query: .init(a: 1, b: 0)) {
    case .ok(let ok):
        let quotient = try ok.body.json
        check("divide 1 0", "\(quotient.map { "\($0)" } ?? "null")", quotient == nil)
    case let other:
        check("divide 1 0", "\(other)", false)
    }

    // POST /calc/stats: a JSON body with a schema, a JSON object result with a schema.
    switch try await client.calc_post_calc_stats(body: .json(.init(values: [1, 2, 3]))) {
    case .ok(let ok):
        let stats = try ok.body.json
        check("stats [1,2,3]", "count \(stats.count), mean \(stats.mean)", stats.count == 3 && stats.mean == 2)
    case let other:
        check("stats [1,2,3]", "\(other)", false)
    }
    // A body that breaks the schema (minItems 1): the host's 400, a HostError naming the body's part.
    switch try await client.calc_post_calc_stats(body: .json(.init(values: []))) {
    case .badRequest(let refused):
        let error = try refused.body.json
        check("stats []", "400 \(error.error) (\(error.path ?? "no path"))", !error.error.isEmpty)
    case let other:
        check("stats []", "\(other)", false)
    }
} catch {
    print("FAIL calling \(serverURL): \(error)")
    failures += 1
}

if failures > 0 {
    print("\(failures) call(s) failed")
    exit(1)
}
print("all calls answered as expected")
