import Foundation
import PluginTestSupport
import Testing

/// The host's OpenAPI document (`GET /_plughost/openapi.json`), checked by a real validator:
/// openapi-spec-validator from PyPI (`python3 -m openapi_spec_validator FILE` exits 0 for a
/// valid document), which `make test` installs when it is missing. Without python3 or the
/// module these tests fail, saying so; they never skip. (Tests/OpenAPIClient/check.sh then
/// generates a Swift client from the same document with swift-openapi-generator.)
@Suite(.serialized)
struct OpenAPITests {
    @Test("the examples' OpenAPI document is valid OpenAPI 3.1 and describes calc's endpoints")
    func examplesDocument() throws {
        let folder = PluginFolder()
        let serve = try ServeProcess(folder: folder, extraArguments: ["--plugins", Fixtures.examples,
                                                                      "--config", Fixtures.repositoryRoot + "/plughost.toml", "--workers", "0"])
        OperationsTests.waitUntilReady(serve)
        let (text, document) = try Self.fetchDocument(serve)
        try Self.expectValid(text, file: folder.path + "/openapi.json")

        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: Any])
        // Every plugin of plughost.toml that serves endpoints is in it.
        let plugins = Set(Self.operations(paths).compactMap { $0.operation["x-plughost-plugin"] as? String })
        #expect(plugins.isSuperset(of: ["calc", "greeter", "later"]), "\(plugins)")
        Self.expectPathParametersDeclared(paths)

        // calc's typed endpoints: path and query parameters with their types, results with theirs.
        let add = try #require(Self.operation(paths, "/calc/add/{a}/{b}", "get"))
        #expect(add["operationId"] as? String == "calc_get_calc_add_a_b")
        #expect(Self.schema(ofResponse: "200", in: add)?["format"] as? String == "int64")
        let divide = try #require(Self.operation(paths, "/calc/divide", "get"))
        let query = (divide["parameters"] as? [[String: Any]] ?? []).filter { $0["in"] as? String == "query" }
        #expect(query.compactMap { $0["name"] as? String } == ["a", "b"])
        #expect(Self.schema(ofResponse: "200", in: divide)?["type"] as? [String] == ["number", "null"])

        // POST /calc/stats: the body schema calc declared and its result schema, as application/json.
        let stats = try #require(Self.operation(paths, "/calc/stats", "post"))
        #expect(stats["operationId"] as? String == "calc_post_calc_stats")
        let requestBody = try #require(stats["requestBody"] as? [String: Any])
        #expect(requestBody["required"] as? Bool == true)
        let body = try #require(((requestBody["content"] as? [String: Any])?["application/json"] as? [String: Any])?["schema"] as? [String: Any],
                                "\(requestBody)")
        #expect(body["type"] as? String == "object" && body["required"] as? [String] == ["values"], "\(body)")
        let values = (body["properties"] as? [String: Any])?["values"] as? [String: Any]
        #expect(values?["type"] as? String == "array" && (values?["items"] as? [String: Any])?["type"] as? String == "number", "\(body)")
        let result = try #require(Self.schema(ofResponse: "200", in: stats), "\(stats)")
        #expect(result["type"] as? String == "object" && result["required"] as? [String] == ["count", "mean"], "\(result)")
        let properties = result["properties"] as? [String: Any]
        #expect((properties?["count"] as? [String: Any])?["type"] as? String == "integer", "\(result)")
        #expect((properties?["mean"] as? [String: Any])?["type"] as? String == "number", "\(result)")
        let responses = stats["responses"] as? [String: Any] ?? [:]
        #expect(responses["400"] != nil && responses["500"] != nil, "\(responses)")
        #expect(serve.stop() == 0)
    }

    /// Endpoints OpenAPI 3.1 cannot spell as registered, from a plugin compiled here from C: each
    /// made the document invalid before the generator handled it (a path parameter listed twice,
    /// a capture the function does not read left undeclared, a PURGE method as a path item key).
    @Test("a document with a method OpenAPI 3.1 lacks, repeated parameters and an unread capture is still valid")
    func awkwardEndpoints() throws {
        let folder = PluginFolder()
        folder.write("odd.c", Self.awkwardPlugin)
        let compile = try Self.run("cc", ["-O2", "-fPIC", "-shared", "-fvisibility=hidden", "-I", Fixtures.repositoryRoot + "/PluginSDK/include",
                                          "-o", folder.path + "/libodd.so", folder.path + "/odd.c"])
        try #require(compile.status == 0, "cc failed:\n\(compile.output)")
        #expect(chmod(folder.path + "/libodd.so", 0o755) == 0)
        folder.manifest("odd.toml", name: "odd", [("odd", "libodd.so:odd_entry")])
        folder.write("host.toml", "[host]\nenabled = [\"odd\"]\n")
        let serve = try ServeProcess(folder: folder, extraArguments: ["--workers", "0"])
        OperationsTests.waitUntilReady(serve)
        #expect(serve.get("/odd/anything/3").body == "3", "\(serve.log)")
        let (text, document) = try Self.fetchDocument(serve)
        try Self.expectValid(text, file: folder.path + "/openapi.json")
        let paths = try #require(document["paths"] as? [String: Any])
        Self.expectPathParametersDeclared(paths)
        // The unread capture is declared (as a string), the repeated query key and header once each.
        let odd = try #require(Self.operation(paths, "/odd/{id}/{n}", "get"))
        #expect(Self.parameters(of: odd) == ["path n", "path id"])
        #expect(Self.parameters(of: try #require(Self.operation(paths, "/odd/twice", "get"))) == ["query a", "header X-A"])
        // PURGE is kept beside GET under an extension, not as a path item member.
        let cache = try #require(paths["/cache/{key}"] as? [String: Any])
        #expect(Set(cache.keys) == ["get", "x-plughost-additional-operations"], "\(cache.keys)")
        let purge = (cache["x-plughost-additional-operations"] as? [String: Any])?["PURGE"] as? [String: Any]
        #expect(purge?["operationId"] as? String == "odd_purge_cache_key", "\(cache)")
        #expect(serve.stop() == 0)
    }

    // MARK: - The document

    /// GET /_plughost/openapi.json: the text and the parsed object.
    private static func fetchDocument(_ serve: ServeProcess) throws -> (String, [String: Any]) {
        let reply = serve.get("/_plughost/openapi.json")
        try #require(reply.status == 200, "GET /_plughost/openapi.json answered \(reply.status.map(String.init) ?? "nothing"): \(reply.body)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any], "\(reply.body)")
        return (reply.body, object)
    }

    /// Every operation of the document: the 3.1 methods of each path item and those under
    /// `x-plughost-additional-operations`.
    private static func operations(_ paths: [String: Any]) -> [(path: String, method: String, operation: [String: Any])] {
        paths.sorted { $0.key < $1.key }.flatMap { path, item -> [(path: String, method: String, operation: [String: Any])] in
            let item = item as? [String: Any] ?? [:]
            let extra = item["x-plughost-additional-operations"] as? [String: Any] ?? [:]
            return (item.filter { !$0.key.hasPrefix("x-") }.merging(extra) { first, _ in first }).sorted { $0.key < $1.key }.map {
                (path, $0.key, $0.value as? [String: Any] ?? [:])
            }
        }
    }

    private static func operation(_ paths: [String: Any], _ path: String, _ method: String) -> [String: Any]? {
        (paths[path] as? [String: Any])?[method] as? [String: Any]
    }

    /// "LOCATION NAME" of each parameter, in order.
    private static func parameters(of operation: [String: Any]) -> [String] {
        (operation["parameters"] as? [[String: Any]] ?? []).map { "\($0["in"] as? String ?? "?") \($0["name"] as? String ?? "?")" }
    }

    private static func schema(ofResponse status: String, in operation: [String: Any]) -> [String: Any]? {
        let response = (operation["responses"] as? [String: Any])?[status] as? [String: Any]
        return ((response?["content"] as? [String: Any])?["application/json"] as? [String: Any])?["schema"] as? [String: Any]
    }

    /// Each `{name}` of each path is a required path parameter of each of its operations, and
    /// each path parameter is one of the path's; operation ids are unique.
    private static func expectPathParametersDeclared(_ paths: [String: Any]) {
        var ids: [String] = []
        for (path, method, operation) in operations(paths) {
            let variables = path.split(separator: "/").filter { $0.hasPrefix("{") && $0.hasSuffix("}") }.map { String($0.dropFirst().dropLast()) }
            let declared = (operation["parameters"] as? [[String: Any]] ?? []).filter { $0["in"] as? String == "path" }
            #expect(declared.compactMap { $0["name"] as? String }.sorted() == variables.sorted(), "\(method) \(path): \(declared)")
            #expect(declared.allSatisfy { $0["required"] as? Bool == true }, "\(method) \(path): \(declared)")
            ids.append(operation["operationId"] as? String ?? "")
        }
        #expect(!ids.isEmpty && Set(ids).count == ids.count && !ids.contains(""), "\(ids)")
    }

    // MARK: - The validator

    /// Writes `text` to `file` and runs `python3 -m openapi_spec_validator` on it, expecting exit 0.
    private static func expectValid(_ text: String, file: String) throws {
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let probe = try run("python3", ["-c", "import openapi_spec_validator"])
        if probe.status == 127 {
            throw ValidatorMissing(description: "python3 was not found on PATH: it runs openapi-spec-validator (\(probe.output))")
        }
        if probe.status != 0 {
            throw ValidatorMissing(description: "the Python module openapi_spec_validator is missing: `python3 -m pip install openapi-spec-validator` "
                                   + "(make test installs it)\n\(probe.output)")
        }
        let result = try run("python3", ["-m", "openapi_spec_validator", "--validation-errors", "all", file])
        #expect(result.status == 0, "openapi-spec-validator found problems in the document:\n\(result.output)\n\(text)")
    }

    /// Runs `command` found on PATH; its exit status (127: not found) and its output and errors together.
    private static func run(_ command: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let result = try ChildCommand.run(command, arguments)
        return (result.status, result.output)
    }

    private struct ValidatorMissing: Error, CustomStringConvertible {
        let description: String
    }

    /// A plugin whose endpoints OpenAPI 3.1 cannot write down as registered.
    private static let awkwardPlugin = #"""
        #include <plughost/http.h>

        static int64_t one(int64_t n) { return n; }
        static ph_status_t raw(void *user_data, ph_http_request_t *request, ph_message_t *error) {
            (void)user_data; (void)request; (void)error;
            return PH_OK;
        }

        static const ph_param_t n_only[] = {{"n", PH_SOURCE_PATH, PH_TYPE_INT64}};
        static const ph_param_t twice[] = {{"a", PH_SOURCE_QUERY, PH_TYPE_INT64}, {"a", PH_SOURCE_QUERY, PH_TYPE_INT64},
                                           {"X-A", PH_SOURCE_HEADER, PH_TYPE_INT64}, {"x-a", PH_SOURCE_HEADER, PH_TYPE_INT64}};
        static int64_t four(int64_t a, int64_t b, int64_t c, int64_t d) { return a + b + c + d; }

        static ph_status_t create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
            (void)plugin;
            const ph_http_t *http = host->get_extension(host, PH_EXT_HTTP);
            const ph_typed_endpoint_t typed[] = {
                {sizeof(ph_typed_endpoint_t), "GET", "/odd/:id/:n", (void (*)(void))one, n_only, 1, PH_TYPE_INT64},
                {sizeof(ph_typed_endpoint_t), "GET", "/odd/twice", (void (*)(void))four, twice, 4, PH_TYPE_INT64},
            };
            for (int i = 0; i < 2; i++)
                if (http->register_typed_endpoint(host, &typed[i], error) != PH_OK) return PH_ERR_FAILED;
            const ph_endpoint_t raws[] = {
                {sizeof(ph_endpoint_t), "GET", "/cache/:key", raw, NULL},
                {sizeof(ph_endpoint_t), "PURGE", "/cache/:key", raw, NULL},
            };
            for (int i = 0; i < 2; i++)
                if (http->register_endpoint(host, &raws[i], error) != PH_OK) return PH_ERR_FAILED;
            *instance = NULL;
            return PH_OK;
        }

        static void destroy(void *instance) { (void)instance; }

        static const ph_plugin_t plugin = {
            .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
            .id = "dev.plughost.tests.odd", .version = "1.0.0", .description = "endpoints OpenAPI 3.1 cannot spell as registered",
            .create = create, .destroy = destroy,
        };

        PH_EXPORT const ph_plugin_t *odd_entry(uint32_t major, uint32_t minor) {
            (void)minor;
            return major == PH_ABI_MAJOR ? &plugin : NULL;
        }
        """#
}
