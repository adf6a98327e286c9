import Foundation
import PluginTestSupport
import Testing

/// `plughost validate`: the example plugins pass every test; each fixture of
/// Tests/Fixtures/validate breaks one rule and is caught by the test for it, with
/// its reason, while the validator itself exits normally.
@Suite(.serialized)
struct ValidateTests {
    /// A validate fixture's folder (library and manifest), built with the other fixtures.
    private static func fixture(_ name: String) -> String { Fixtures.directory + "/validate/" + name }

    /// A sanitizer build of this test bundle (and of plughost).
    private static let sanitized = dlsym(nil, "__asan_init") != nil || dlsym(nil, "__tsan_init") != nil

    private static func validate(_ arguments: [String]) throws -> Plughost.Result {
        try Plughost.run(["validate", "--time-limit", "10"] + arguments)
    }

    /// The report line of `test` for `alias`.
    private static func line(_ output: String, _ alias: String, _ test: String) -> Substring? {
        output.split(separator: "\n").first { $0.contains(" \(alias) \(test)") && ($0.hasPrefix("PASS ") || $0.hasPrefix("FAIL ") || $0.hasPrefix("SKIP ")) }
    }

    @Test("the example plugins (C, Swift and Rust) pass every test")
    func examplesPass() throws {
        let result = try Self.validate([Fixtures.examples])
        #expect(result.status == 0, "\(result.output)")
        #expect(!result.output.contains("FAIL"), "\(result.output)")
        #expect(result.output.contains("PASS greeter host"))
        #expect(result.output.contains(" 0 failed"))
        // Their raw, handler-form typed and async endpoints are called, not skipped: greeter (Swift,
        // asyncEndpoint and asyncTypedEndpoint) and later (C, resumed from its own thread).
        for (alias, test) in [("greeter", "endpoints"), ("greeter", "async"), ("later", "endpoints"), ("later", "async"), ("calc", "typed")] {
            #expect(Self.line(result.output, alias, test)?.hasPrefix("PASS ") == true, "\(alias) \(test) in:\n\(result.output)")
        }
    }

    @Test("the well-behaved fixture passes every test, with one line per test and a summary")
    func goodPasses() throws {
        let result = try Self.validate([Self.fixture("good")])
        #expect(result.status == 0, "\(result.output)")
        for test in ["descriptor", "entry", "heap", "lifecycle", "config", "threads", "state", "typed", "wrappers", "endpoints",
                     "async", "stray-threads", "late-calls", "host"] {
            #expect(result.output.contains("PASS good \(test)"), "\(test) in:\n\(result.output)")
        }
        #expect(result.output.split(separator: "\n").last?.hasPrefix("validate: 14 passed, 0 failed, 0 skipped") == true, "\(result.output)")
    }

    @Test("each fixture that breaks one rule fails the test for that rule, with its reason", arguments: [
        ("badsize", "descriptor", "descriptor size 88 is smaller than"),
        ("foreignmajor", "entry", "foreign ABI major"),
        ("twodescriptors", "entry", "different descriptor on the second call"),
        ("leaky", "heap", "grew the heap"),
        ("crashcreate", "lifecycle", "crashed (SIGSEGV)"),
        ("hangstart", "lifecycle", "timed out"),
        ("badconfig", "config", "crashed (SIGSEGV)"),
        ("unsafethreads", "threads", "crashed (SIGABRT)"),
        ("badstate", "state", "not byte-identical"),
        ("staterandom", "state", "crashed (SIGSEGV)"),
        ("typedcrash", "typed", "crashed (SIGFPE)"),
        ("badjson", "typed", "returned malformed JSON"),
        ("wrappercrash", "wrappers", "crashed (SIGSEGV)"),
        ("straythread", "stray-threads", "still running after destroy"),
        ("latecall", "late-calls", "called the host after destroy"),
        ("nocancel", "async", "never resumed after cancellation"),
        ("asyncleftover", "async", "still runs the plugin's code after destroy"),
    ])
    func brokenFixtureCaught(fixture: String, test: String, reason: String) throws {
        let result = try Self.validate(["--only", test, Self.fixture(fixture)])
        // The validator exits 1 (a failure found), never by a signal of the plugin's.
        #expect(result.status == 1, "\(result.output)")
        let line = result.output.split(separator: "\n").first { $0.hasPrefix("FAIL ") && $0.contains(" \(test): ") }
        // Under AddressSanitizer a memory error is reported before the signal it would have caused.
        let expected = Self.sanitized && reason == "crashed (SIGSEGV)" ? "crashed (" : reason
        #expect(line?.contains(expected) == true, "expected '\(expected)' in:\n\(result.output)")
    }

    @Test("a Swift async endpoint whose task outlives destroy fails the async test alone, naming the endpoint and the task's code")
    func asyncLeftover() throws {
        let result = try Self.validate([Self.fixture("asyncleftover")])
        #expect(result.status == 1, "\(result.output)")
        let failed = result.output.split(separator: "\n").filter { $0.hasPrefix("FAIL ") }
        #expect(failed.count == 1, "\(result.output)")
        let line = try #require(failed.first)
        #expect(line.hasPrefix("FAIL async-leftover async: 1 thread still runs the plugin's code after destroy"), "\(line)")
        #expect(line.contains("GET /leftover/poll"), "\(line)")
        #expect(line.contains("Poller.startOnce"), "the task's closure is named: \(line)")
        // The endpoints test calls the same endpoint and passes: each request is resumed once.
        #expect(Self.line(result.output, "async-leftover", "endpoints")?.hasPrefix("PASS ") == true, "\(result.output)")
    }

    @Test("a deferring endpoint that drops a request the host gave up on fails the async test alone")
    func noCancel() throws {
        let result = try Self.validate([Self.fixture("nocancel")])
        #expect(result.status == 1, "\(result.output)")
        let failed = result.output.split(separator: "\n").filter { $0.hasPrefix("FAIL ") }
        #expect(failed.count == 1, "\(result.output)")
        #expect(failed.first?.hasPrefix("FAIL no-cancel async: GET /nocancel/wait never resumed after cancellation") == true, "\(result.output)")
        #expect(failed.first?.contains("its on_cancel callback ran") == true, "\(result.output)")
        #expect(Self.line(result.output, "no-cancel", "endpoints")?.hasPrefix("PASS ") == true, "\(result.output)")
    }

    @Test("the host tests' async fixtures pass the async thread check; the rules they break on purpose are caught by endpoint")
    func hostAsyncFixtures() throws {
        let folder = PluginFolder()
        install(folder, "deferred/a/libdeferred.so", as: "libdeferred.so")
        install(folder, "swift_versioned/v1/libswift_versioned.so", as: "libswift_versioned.so")
        folder.manifest("fixtures.toml", name: "fixtures", [("deferred", "libdeferred.so:deferred_entry"),
                                                           ("sv", "libswift_versioned.so:swift_versioned_entry")])
        let result = try Self.validate(["--only", "endpoints,async,stray-threads", folder.path])
        let output = result.output
        // SwiftVersioned: its async endpoints (one sleeps 5 s unless cancelled) resume once and leave nothing.
        #expect(Self.line(output, "sv", "async")?.hasPrefix("PASS ") == true, "\(output)")
        // ... but GET /swift/fatal ends in fatalError on purpose: the crash names it.
        let fatal = Self.line(output, "sv", "endpoints") ?? ""
        #expect(fatal.hasPrefix("FAIL ") && fatal.contains("crashed (SIG") && fatal.contains("GET /swift/fatal"), "\(output)")
        // deferred: GET /d/twice resumes twice on purpose, and nothing else is wrong with its async side.
        let twice = Self.line(output, "deferred", "async") ?? ""
        #expect(twice.hasPrefix("FAIL deferred async: GET /d/twice resumed a request twice"), "\(output)")
        #expect(!twice.contains("(and "), "only /d/twice: \(output)")
        // Its endpoints test also finds GET /d/undeclared answering PH_PENDING without PH_MAY_DEFER.
        let endpoints = Self.line(output, "deferred", "endpoints") ?? ""
        #expect(endpoints.contains("GET /d/twice") && endpoints.contains("(and 1 more problem)"), "\(output)")
        #expect(Self.line(output, "deferred", "stray-threads")?.hasPrefix("PASS ") == true, "\(output)")
        #expect(Self.line(output, "sv", "stray-threads")?.hasPrefix("PASS ") == true, "\(output)")
    }

    @Test("--json reports the same results as one document; --only takes a list; an unknown test is refused")
    func jsonAndOnly() throws {
        let result = try Self.validate(["--json", "--only", "descriptor,entry", Self.fixture("good"), Self.fixture("foreignmajor")])
        #expect(result.status == 1)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        let tests = try #require(document["tests"] as? [[String: Any]])
        #expect(tests.count == 4)
        #expect(document["failed"] as? Int == 1)
        #expect(document["passed"] as? Int == 3)
        let unknown = try Self.validate(["--only", "nonsense", Self.fixture("good")])
        #expect(unknown.status != 0 && unknown.output.contains("unknown test 'nonsense'"))
    }

    @Test("--in-process runs the tests in the validator itself")
    func inProcess() throws {
        let result = try Self.validate(["--in-process", "--only", "descriptor,entry,lifecycle", Self.fixture("good")])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("PASS good lifecycle"))
    }
}
