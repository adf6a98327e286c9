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

    @Test("the example plugins (C, Swift and Rust) pass every test")
    func examplesPass() throws {
        let result = try Self.validate([Fixtures.examples])
        #expect(result.status == 0, "\(result.output)")
        #expect(!result.output.contains("FAIL"), "\(result.output)")
        #expect(result.output.contains("PASS greeter host"))
        #expect(result.output.contains(" 0 failed"))
    }

    @Test("the well-behaved fixture passes every test, with one line per test and a summary")
    func goodPasses() throws {
        let result = try Self.validate([Self.fixture("good")])
        #expect(result.status == 0, "\(result.output)")
        for test in ["descriptor", "entry", "heap", "lifecycle", "config", "threads", "state", "typed", "wrappers", "stray-threads", "late-calls", "host"] {
            #expect(result.output.contains("PASS good \(test)"), "\(test) in:\n\(result.output)")
        }
        #expect(result.output.split(separator: "\n").last?.hasPrefix("validate: 12 passed, 0 failed, 0 skipped") == true, "\(result.output)")
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
        ("wrappercrash", "wrappers", "crashed (SIGSEGV)"),
        ("straythread", "stray-threads", "still running after destroy"),
        ("latecall", "late-calls", "called the host after destroy"),
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
