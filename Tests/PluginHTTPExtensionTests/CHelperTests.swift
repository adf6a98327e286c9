import Foundation
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

    private func run(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        // The test process may itself run under a sanitizer: the child must not inherit its options.
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasSuffix("SAN_OPTIONS") && $0.key != "LD_PRELOAD" }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
