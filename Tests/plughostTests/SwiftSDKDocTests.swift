import Foundation
import PluginTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

// Every ```swift code block of the Swift SDK's documentation compiles against the SDK.
//
// Where the blocks are: the `///` doc comments of PluginSDK/Swift/*.swift, and the DocC
// articles PluginSDK/Swift/PluginSDK.docc/*.md. Blocks fenced with another language (```c,
// ```make, ```toml, ```sh, …) are not compiled.
//
// How a block is compiled: with `swiftc -parse-as-library -swift-version 6 -emit-sil` (type
// checking and the compiler's flow diagnostics, no code generation), against the SDK module
// and archive the fixtures use (built here with `make` under the fixtures' lock), with
// `-I PluginSDK/include` (CPluginABI) and `-I plugins/audit/include` (the AuditService
// module the greeter example imports). Each block is its own module, so blocks may reuse
// names. `import PluginSDK` is added in front of each block (writing it too is harmless).
// Warnings are allowed; an error fails the test at the block's own file and line
// (`#sourceLocation` points the compiler's messages there).
//
// The first line of a block says what it is:
//
//   (anything else)                       a whole source file: types, functions, an entry.
//   // fragment: statements               statements, compiled as the body of
//                                           func snippet(host: PluginHost, http: HTTPRegistrar,
//                                                        exchange: HTTPExchange) async throws
//                                         so they may use `host`, `http` and `exchange`, `try`
//                                         and `await`.
//   // fragment: members of NAME          declarations that belong inside type NAME, compiled
//                                         as `extension NAME { … }` after the nearest whole-file
//                                         block above it in the same file (which declares NAME).
//
// In a fragment, `import` lines right after the marker (say `import AuditService`) are moved
// to the top of the compiled file.
//
// The marker line stays in the documentation: it tells readers what the block is part of.

/// One ```swift block of the documentation.
struct DocSnippet: Sendable, CustomTestStringConvertible {
    enum Kind: Sendable, Equatable {
        case file
        case statements
        case members(of: String)
    }

    /// The file it is in, absolute, and the line of its first line of code.
    let file: String
    let line: Int
    let code: String
    let kind: Kind
    /// For `members`: the nearest whole-file block above it in the same file.
    let context: DocSnippetContext?

    var relativePath: String { String(file.dropFirst(Fixtures.repositoryRoot.count + 1)) }
    var testDescription: String { "\(relativePath):\(line)" }

    /// Every block, in file order.
    static let all: [DocSnippet] = {
        let root = Fixtures.repositoryRoot + "/PluginSDK/Swift"
        var files: [String] = []
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted()
        files += names.filter { $0.hasSuffix(".swift") }.map { root + "/" + $0 }
        let catalog = root + "/PluginSDK.docc"
        let articles = ((try? FileManager.default.contentsOfDirectory(atPath: catalog)) ?? []).sorted()
        files += articles.filter { $0.hasSuffix(".md") }.map { catalog + "/" + $0 }
        return files.flatMap { extract(from: $0) }
    }()

    /// The ```swift blocks of `path`: of its `///` comments for Swift sources, of the text for articles.
    static func extract(from path: String) -> [DocSnippet] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        let isSwift = path.hasSuffix(".swift")
        var snippets: [DocSnippet] = []
        var lastFile: DocSnippetContext?
        var open: (line: Int, lines: [String])?
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            var line = Substring(rawLine)
            if isSwift {
                let trimmed = line.drop { $0 == " " || $0 == "\t" }
                guard trimmed.hasPrefix("///") else {
                    open = nil  // a block never runs past the end of its comment
                    continue
                }
                line = trimmed.dropFirst(3)
                if line.hasPrefix(" ") { line = line.dropFirst() }
            }
            let fence = line.drop { $0 == " " }
            if var block = open {
                if fence.hasPrefix("```") {
                    let code = block.lines.joined(separator: "\n")
                    let kind = Self.kind(of: block.lines.first ?? "")
                    let snippet = DocSnippet(file: path, line: block.line, code: code, kind: kind,
                                             context: kind == .file ? nil : lastFile)
                    if kind == .file { lastFile = DocSnippetContext(line: block.line, code: code) }
                    snippets.append(snippet)
                    open = nil
                } else {
                    block.lines.append(String(line))
                    open = block
                }
            } else if fence.hasPrefix("```swift") {
                open = (number + 1, [])
            }
        }
        return snippets
    }

    private static func kind(of firstLine: String) -> Kind {
        let marker = firstLine.trimmingCharacters(in: .whitespaces)
        if marker == "// fragment: statements" { return .statements }
        let members = "// fragment: members of "
        if marker.hasPrefix(members) { return .members(of: String(marker.dropFirst(members.count))) }
        return .file
    }

    /// The source file that compiles this block, with its lines pointing back at the documentation.
    var source: String {
        func located(_ line: Int, _ code: String) -> String {
            "#sourceLocation(file: \"\(file)\", line: \(line))\n\(code)\n#sourceLocation()\n"
        }
        // A fragment's leading imports go to the top of the file; blank lines keep the numbering.
        var lines = code.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var imports: [String] = []
        if kind != .file {
            var index = 1  // after the marker
            while index < lines.count, lines[index].hasPrefix("import ") {
                imports.append(lines[index])
                lines[index] = ""
                index += 1
            }
        }
        let head = (["import PluginSDK"] + imports).joined(separator: "\n") + "\n"
        let body = lines.joined(separator: "\n")
        switch kind {
        case .file:
            return head + located(line, code)
        case .statements:
            return head + "func snippet(host: PluginHost, http: HTTPRegistrar, exchange: HTTPExchange) async throws {\n"
                + located(line, body) + "}\n"
        case .members(let name):
            let before = context.map { located($0.line, $0.code) } ?? ""
            return head + before + "extension \(name) {\n" + located(line, body) + "}\n"
        }
    }
}

/// A whole-file block that a `members` block extends.
struct DocSnippetContext: Sendable, Equatable {
    let line: Int
    let code: String
}

/// The Swift SDK's module and archive, built once per test process.
enum SDKModule {
    /// The folder holding PluginSDK.swiftmodule and libPluginSDK.a, or why it could not be built.
    static let directory: Result<String, SDKBuildFailure> = {
        let root = Fixtures.repositoryRoot
        let fixtures = root + "/Tests/Fixtures"
        let common = ["-s", "--no-print-directory", "-C", fixtures, "OUT=" + root + "/.build/fixtures"]
        return withFixturesLock {
            // The folder the fixtures' Makefile builds the archive in (plugin.mk's PH_SWIFT_SDK_DIR, as it sets it).
            let asked = run("/usr/bin/env", ["make"] + common + ["--eval", "ph-doc-tests-sdk-dir: ; @echo $(PH_SWIFT_SDK_DIR)", "ph-doc-tests-sdk-dir"])
            let folder = asked.output.trimmingCharacters(in: .whitespacesAndNewlines)
            guard asked.status == 0, !folder.isEmpty else { return .failure(SDKBuildFailure(description: "make could not name the SDK folder:\n\(asked.output)")) }
            let built = run("/usr/bin/env", ["make"] + common + [folder + "/libPluginSDK.a"])
            guard built.status == 0 else { return .failure(SDKBuildFailure(description: "building the Swift SDK failed:\n\(built.output)")) }
            return .success(folder)
        }
    }()

    /// Runs `body` holding `.build/fixtures.lock`, the lock the fixture builds take: they build
    /// the same archive, and must not rename files from under each other.
    private static func withFixturesLock<T>(_ body: () -> T) -> T {
        let root = Fixtures.repositoryRoot
        try? FileManager.default.createDirectory(atPath: root + "/.build", withIntermediateDirectories: true)
        let lock = open(root + "/.build/fixtures.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if lock >= 0 { flock(lock, LOCK_EX) }
        defer { if lock >= 0 { close(lock) } }
        return body()
    }
}

struct SDKBuildFailure: Error, CustomStringConvertible {
    let description: String
}

/// Runs a program to its end: its exit status, and its standard output and error together.
private func run(_ executable: String, _ arguments: [String]) -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    process.standardInput = FileHandle.nullDevice
    do { try process.run() } catch { return (-1, "\(executable) did not start: \(error)") }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

@Suite("The Swift SDK's documentation snippets compile")
struct SwiftSDKDocTests {
    @Test("the documentation has snippets of each kind, in the sources and in the articles")
    func snippetsFound() {
        let snippets = DocSnippet.all
        #expect(snippets.count >= 20, "found only \(snippets.map(\.testDescription))")
        #expect(snippets.contains { $0.file.hasSuffix(".swift") } && snippets.contains { $0.file.hasSuffix(".md") })
        #expect(snippets.contains { $0.kind == .statements } && snippets.contains { $0.kind == .file })
        for snippet in snippets {
            if case .members = snippet.kind {
                #expect(snippet.context != nil, "\(snippet.testDescription): a members fragment needs a whole-file block above it")
            }
        }
    }

    @Test("a ```swift block compiles against the SDK", arguments: DocSnippet.all)
    func snippetCompiles(_ snippet: DocSnippet) throws {
        if let failure = try snippet.compile() {
            Issue.record("\(snippet.testDescription): \(failure)",
                         sourceLocation: SourceLocation(fileID: "plughost/\((snippet.file as NSString).lastPathComponent)",
                                                        filePath: snippet.file, line: snippet.line, column: 1))
        }
    }
}

extension DocSnippet {
    /// Compiles the block against the SDK: nil when it compiles, else what went wrong.
    func compile() throws -> String? {
        let sdk: String
        switch SDKModule.directory {
        case .success(let folder): sdk = folder
        case .failure(let failure): return "\(failure)"
        }
        let root = Fixtures.repositoryRoot
        let folder = NSTemporaryDirectory() + "plughost-doc-snippet-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/Snippet.swift"
        try source.write(toFile: path, atomically: true, encoding: .utf8)
        let swiftc = ProcessInfo.processInfo.environment["SWIFTC"] ?? "swiftc"
        let result = run("/usr/bin/env", [swiftc, "-parse-as-library", "-swift-version", "6", "-module-name", "Snippet",
                                          "-I", sdk, "-I", root + "/PluginSDK/include", "-I", root + "/plugins/audit/include",
                                          "-emit-sil", "-o", "/dev/null", path])
        return result.status == 0 ? nil : "this ```swift block does not compile (\(kind)):\n\(result.output)"
    }
}
