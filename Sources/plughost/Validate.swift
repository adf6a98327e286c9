#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CPluginValidator
import Foundation
import PluginRuntime

/// `plughost validate PATH…`: a conformance suite for plugin libraries, in the
/// spirit of CLAP's clap-validator. Each test runs in a child process with a
/// time limit, so a plugin that crashes or hangs is reported and the validator
/// goes on. The tests exercise the plugin through the ABI from a host of the
/// validator's own (CPluginValidator), which records what the plugin does;
/// `host` loads it into the real runtime. Tests run off the Swift concurrency pool
/// (``ValidateThread``), which they leave to the plugin's tasks.
struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the conformance suite on plugin libraries (a .so, a manifest or a folder): one line per test, exit 1 on any failure.",
        discussion: """
            Tests: \(ValidationTests.all.map(\.name).joined(separator: ", ")).
            Each runs in a child process (--time-limit seconds); a crash or a hang fails that test and the rest go on.
            """)

    @Argument(help: "Libraries (.so), manifests (.toml) or plugin folders.")
    var paths: [String] = []

    @Option(help: "Run only these tests (repeat the option, or separate with commas).")
    var only: [String] = []

    @Flag(help: "Run the tests in this process, one after another (for a debugger): a crash ends the validator.")
    var inProcess = false

    @Flag(help: "Print the results as one JSON document instead of lines.")
    var json = false

    @Option(help: "Seconds each test may take before it is killed and reported as hung.")
    var timeLimit: Double = 20

    @Option(help: "A host config whose [plugin.ALIAS] table the host test gives the plugin (the other tests generate their own configs).")
    var config: String?

    @Option(help: "Where the host test runs the plugin: in-process (in the host's process) or process (isolated in a plugin process of its own, as [isolation.ALIAS] mode = \"process\" does). Default: as --config's [isolation.ALIAS] says, else in-process.")
    var isolation: IsolationOption?

    @Option(help: .hidden)
    var runTest: String?

    @Option(help: .hidden)
    var symbol: String?

    @Option(help: .hidden)
    var alias: String?

    func validate() throws {
        if paths.isEmpty { throw ValidationError("name at least one .so, manifest or folder") }
        let known = Set(ValidationTests.all.map(\.name))
        for name in asked where !known.contains(name) {
            throw ValidationError("unknown test '\(name)' (known: \(ValidationTests.all.map(\.name).joined(separator: ", ")))")
        }
        if timeLimit <= 0 { throw ValidationError("--time-limit must be positive") }
    }

    /// The test names `--only` gave.
    private var asked: [String] {
        only.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
    }

    /// The tests asked for, in suite order.
    private var selected: [String] {
        asked.isEmpty ? ValidationTests.all.map(\.name) : ValidationTests.all.map(\.name).filter(asked.contains)
    }

    func run() async throws {
        if let runTest, let symbol {
            // A child: one test, its result as one JSON line on a descriptor of its own (what the
            // plugin prints goes to standard error), then out at once: threads the plugin left may
            // still run, and its static destructors must not run under them.
            let result = fcntl(1, F_DUPFD_CLOEXEC, 10)
            dup2(2, 1)
            let (library, alias, config, isolation) = (paths[0], alias ?? "plugin", config, isolation?.mode)
            let found = await ValidateThread.run {
                ValidationTests.runHere(runTest, library: library, symbol: symbol, alias: alias, config: config, isolation: isolation)
            }
            var line = Array(try JSONEncoder().encode(found))
            line.append(UInt8(ascii: "\n"))
            _ = line.withUnsafeBytes { write(result >= 0 ? result : 2, $0.baseAddress, $0.count) }
            _exit(0)
        }
        var report = ValidationReport()
        report.isolation = isolation?.rawValue
        for path in paths {
            let catalog = PluginChecker.catalog(at: path)
            for problem in catalog.problems { report.problems.append(problem.description) }
            if catalog.entryPoints.isEmpty && catalog.problems.isEmpty { report.problems.append("\(path): no plugin found") }
            for entry in catalog.entryPoints {
                for test in selected {
                    let (library, symbol, alias, config, isolation) = (entry.libraryPath, entry.symbol, entry.alias, config, isolation?.mode)
                    let result = inProcess
                        ? await ValidateThread.run {
                            ValidationTests.runHere(test, library: library, symbol: symbol, alias: alias, config: config,
                                                    isolation: isolation)
                        }
                        : ValidationTests.runInChild(test, library: library, symbol: symbol, alias: alias,
                                                     config: config, isolation: isolation, timeLimit: timeLimit)
                    let line = ValidationReport.Line(library: entry.libraryPath, alias: entry.alias, test: test, result: result)
                    report.lines.append(line)
                    if !json {
                        print(line.text)
                        fflush(nil)
                    }
                }
            }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            for problem in report.problems { print("FAIL \(problem)") }
            print(report.summary)
        }
        fflush(nil)
        if report.failed > 0 || !report.problems.isEmpty { throw ExitCode(1) }
    }
}

/// `--isolation`'s values, `[isolation.ALIAS] mode`'s.
enum IsolationOption: String, ExpressibleByArgument, CaseIterable {
    case inProcess = "in-process"
    case process

    var mode: IsolationSettings.Mode { self == .process ? .process : .inProcess }
}
