import Foundation
import PluginTestSupport
import Testing

@Suite("The C SDK's JSON helper (plughost/json.h)")
struct CHelperTests {
    @Test("json_check.c passes, built with AddressSanitizer and UndefinedBehaviorSanitizer")
    func jsonHelper() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let binary = FileManager.default.temporaryDirectory.appendingPathComponent("json_check-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: binary) }
        let compile = try run("/usr/bin/env", ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-fsanitize=address,undefined",
                                               "-fno-sanitize-recover=all", "-I", root.appendingPathComponent("PluginSDK/include").path,
                                               "-o", binary, root.appendingPathComponent("Tests/CHelpers/json_check.c").path])
        #expect(compile.status == 0, "\(compile.output)")
        let check = try run(binary, [])
        #expect(check.status == 0, "\(check.output)")
        #expect(check.output.contains("checks passed"))
    }

    @Test("sandbox_check.sh passes: the plugin process's sandbox (files, network, dlopen of a C and a Swift plugin, SIGSYS reports, rlimits), checked in forked children")
    func sandbox() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let check = try run("/bin/sh", [root.appendingPathComponent("Tests/CHelpers/sandbox_check.sh").path])
        #expect(check.status == 0, "\(check.output)")
        #expect(!check.output.contains("FAIL"), "\(check.output)")
    }

    private func run(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        // The test process may itself run under a sanitizer: the child must not inherit its options.
        let environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasSuffix("SAN_OPTIONS") && $0.key != "LD_PRELOAD" }
        let result = try ChildCommand.run(path, arguments, environment: environment)
        return (result.status, result.output)
    }
}
