#if canImport(Glibc)
import Glibc
#endif
import CPluginValidator
import Foundation
import PluginRuntime
import PluginSupervisor
import PluginHTTPExtension

/// The tests of `plughost validate`: those of CPluginValidator (through the ABI,
/// from the validator's own recording host), then `host` (the real runtime).
enum ValidationTests {
    /// One test of the suite.
    struct Test {
        let name: String
        let summary: String
    }

    /// What one test found.
    struct Result: Codable, Sendable {
        /// "pass", "fail" or "skip".
        var outcome: String
        /// Why it failed or was skipped; on a pass, a short note.
        var reason: String
    }

    /// Every test, in the order they run.
    static let all: [Test] = (0..<ph_validation_test_count()).map {
        Test(name: String(cString: ph_validation_test_name($0)), summary: String(cString: ph_validation_test_summary($0)))
    } + [Test(name: "host", summary: "loads, starts, reloads and stops it in the real runtime, with an empty config (isolated in a plugin process with --isolation process)")]

    /// Runs `test` in this process (it may crash or hang when the plugin does).
    /// - Parameters:
    ///   - config: A host config file whose `[plugin.ALIAS]` (and `[isolation.ALIAS]`) table the `host` test uses.
    ///   - isolation: Where the `host` test runs the plugin; nil: as `config` says.
    static func runHere(_ test: String, library: String, symbol: String, alias: String, config: String? = nil,
                        isolation: IsolationSettings.Mode? = nil) -> Result {
        if test == "host" { return realHost(library: library, symbol: symbol, alias: alias, config: config, isolation: isolation) }
        setenv("PH_VALIDATION_ALIAS", alias, 1)
        var reason = [CChar](repeating: 0, count: 4096)
        let outcome = ph_validation_run(test, library, symbol, &reason, reason.count)
        let text = String(decoding: reason.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        switch outcome {
        case PH_VALIDATION_PASS: return Result(outcome: "pass", reason: text)
        case PH_VALIDATION_SKIP: return Result(outcome: "skip", reason: text)
        default: return Result(outcome: "fail", reason: text)
        }
    }

    /// Runs `test` in a child process, killed after `timeLimit` seconds; a crash or a hang is that test's failure.
    static func runInChild(_ test: String, library: String, symbol: String, alias: String, config: String?,
                           isolation: IsolationSettings.Mode? = nil, timeLimit: Double) -> Result {
        let arguments = ["validate", "--run-test", test, "--symbol", symbol, "--alias", alias] + (config.map { ["--config", $0] } ?? [])
            + (isolation.map { ["--isolation", $0.rawValue] } ?? []) + [library]
        // The child writes each step to standard error ("validate: step: …"), so a crash or a hang names where it happened.
        // In a sanitizer build of plughost the plugin's signal must end the child as itself, not as
        // the sanitizer's report and an exit status (ASan 1, TSan 66): the result names the signal.
        let signalsAsThemselves = "handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_abort=0:handle_sigill=0"
        func sanitizerOptions(_ variable: String) -> String {
            (ProcessInfo.processInfo.environment[variable].map { $0 + ":" } ?? "") + signalsAsThemselves
        }
        guard let child = ChildProcess.run(arguments, timeLimit: timeLimit,
                                           environment: ["PH_VALIDATION_PROGRESS_FD": "2", "PH_VALIDATION_ALIAS": alias,
                                                         "ASAN_OPTIONS": sanitizerOptions("ASAN_OPTIONS"),
                                                         "TSAN_OPTIONS": sanitizerOptions("TSAN_OPTIONS")]) else {
            return Result(outcome: "fail", reason: "cannot start a child process: \(String(cString: strerror(errno)))")
        }
        let lines = child.errors.split(separator: "\n")
        let step = lines.last { $0.hasPrefix(stepPrefix) }.map { " in \($0.dropFirst(stepPrefix.count).prefix(300))" } ?? ""
        let said = lines.last { !$0.hasPrefix(stepPrefix) && !CrashJournal.isEcho($0) && !$0.isEmpty }
        let detail = step + (said.map { "; the plugin wrote: \($0.prefix(300))" } ?? "")
        if child.timedOut { return Result(outcome: "fail", reason: "timed out after \(formatted(timeLimit)) s (killed)\(detail)") }
        if let signal = child.signal { return Result(outcome: "fail", reason: "crashed (\(SignalNames.name(signal)))\(detail)") }
        // A sanitizer build reports a plugin's memory error itself and exits: that is the crash.
        if let report = lines.first(where: { $0.contains("ERROR: AddressSanitizer: ") }) {
            let kind = report.components(separatedBy: "ERROR: AddressSanitizer: ").last?.split(separator: " ").first ?? "error"
            return Result(outcome: "fail", reason: "crashed (AddressSanitizer: \(kind))\(step)")
        }
        guard let line = child.output.split(separator: "\n").last,
              let result = try? JSONDecoder().decode(Result.self, from: Data(line.utf8)) else {
            return Result(outcome: "fail", reason: "exited with status \(child.exitCode ?? -1) before reporting\(detail)")
        }
        return result
    }

    /// The real runtime over a folder of its own: the library beside a one-line manifest,
    /// enabled with an empty config (or `config`'s table for it), started, reloaded once (nothing changed), shut down.
    /// A plugin that refuses an empty config is skipped when no config was given. With `isolation`
    /// `.process` (or `config`'s `[isolation.ALIAS] mode = "process"`) the plugin runs in a plugin
    /// process of its own, which must run through start and reload without being restarted.
    private static func realHost(library: String, symbol: String, alias: String, config path: String?,
                                 isolation: IsolationSettings.Mode?) -> Result {
        var config = HostConfig()
        if let path {
            do {
                config = try HostConfig.load(path: path)
            } catch {
                return Result(outcome: "fail", reason: "--config: \(error.description)")
            }
        }
        // The alias's own [isolation] table under the alias the test uses; --isolation decides the mode
        // (the config's other keys kept for process, none for in-process: they only apply with process).
        let configured = config.isolation(of: alias)
        switch isolation {
        case .process?: config.isolation[alias] = configured.mode == .process ? configured : IsolationSettings(mode: .process)
        case .inProcess?: config.isolation[alias] = nil
        case nil: break
        }
        let isolated = config.isolation(of: alias).mode == .process
        let folder = NSTemporaryDirectory() + "plughost-validate-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            let name = "lib\(alias.filter { $0.isLetter || $0.isNumber }).so"
            try FileManager.default.copyItem(atPath: library, toPath: folder + "/" + name)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: folder + "/" + name)
            let manifest = "[plugin]\nname = \"\(alias)\"\nversion = \"0\"\n\n[entry-points.\"\(HostConfig.defaultNamespace)\"]\n\"\(alias)\" = \"\(name):\(symbol)\"\n"
            guard FileManager.default.createFile(atPath: folder + "/plugin.toml", contents: Data(manifest.utf8),
                                                 attributes: [.posixPermissions: 0o600]) else {
                return Result(outcome: "fail", reason: "cannot prepare a plugins folder: cannot write \(folder)/plugin.toml")
            }
        } catch {
            return Result(outcome: "fail", reason: "cannot prepare a plugins folder: \(error)")
        }
        config.enabled = [alias]
        config.namespaces = [HostConfig.defaultNamespace]
        config.drainTimeout = .seconds(5)
        config.path = nil
        let runtime = PluginRuntime(pluginsDirectory: folder, config: config, servesHTTP: true)
        do {
            try runtime.start(strict: true)
        } catch {
            if path == nil, error.problems.count == 1, error.problems[0].code == .configRejected {
                return Result(outcome: "skip", reason: "it needs a config (\(error.problems[0].reason)): give one with --config FILE and a [plugin.\(alias)] table")
            }
            return Result(outcome: "fail", reason: "the host refused it: \(error.description)")
        }
        let started = runtime.statuses.first { $0.alias == alias }?.isolation
        let reload = runtime.reload()
        let reloaded = runtime.statuses.first { $0.alias == alias }?.isolation
        runtime.shutdown()
        guard reload.succeeded else { return Result(outcome: "fail", reason: "a reload failed: \(reload.description)") }
        guard isolated else { return Result(outcome: "pass", reason: "started, reloaded and stopped (isolation: in-process)") }
        guard let started, started.mode == IsolationSettings.Mode.process.rawValue, let pid = started.pid else {
            return Result(outcome: "fail", reason: "isolation: process, but no plugin process ran it after start")
        }
        guard let reloaded, reloaded.pid != nil else {
            return Result(outcome: "fail", reason: "isolation: process, but no plugin process ran it after the reload")
        }
        if let restarts = reloaded.restarts, restarts > 0 {
            return Result(outcome: "fail", reason: "isolation: process, and its plugin process was restarted \(restarts) time(s) (it died or hung)")
        }
        return Result(outcome: "pass", reason: "started, reloaded and stopped (isolation: process, plugin process pid \(pid))")
    }

    /// How the validator's steps start on a child's standard error.
    private static let stepPrefix = "validate: step: "

    private static func formatted(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}

/// Everything `plughost validate` found, as lines or as JSON.
struct ValidationReport: Encodable {
    /// One test of one alias.
    struct Line: Encodable {
        var library: String
        var alias: String
        var test: String
        var result: ValidationTests.Result

        var text: String {
            let word = result.outcome == "pass" ? "PASS" : result.outcome == "skip" ? "SKIP" : "FAIL"
            return "\(word) \(alias) \(test)" + (result.reason.isEmpty ? "" : ": \(result.reason)")
        }
    }

    var lines: [Line] = []
    /// Files that yielded no plugin to test (a manifest that does not parse, a missing library).
    var problems: [String] = []
    /// `--isolation`, when given: where the host test ran the plugin.
    var isolation: String?

    var passed: Int { lines.filter { $0.result.outcome == "pass" }.count }
    var failed: Int { lines.filter { $0.result.outcome == "fail" }.count }
    var skipped: Int { lines.filter { $0.result.outcome == "skip" }.count }

    var summary: String {
        "validate: \(passed) passed, \(failed + problems.count) failed, \(skipped) skipped"
    }

    private enum CodingKeys: String, CodingKey { case lines = "tests", problems, passed, failed, skipped, isolation }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(lines, forKey: .lines)
        try container.encode(problems, forKey: .problems)
        try container.encode(passed, forKey: .passed)
        try container.encode(failed, forKey: .failed)
        try container.encode(skipped, forKey: .skipped)
        try container.encodeIfPresent(isolation, forKey: .isolation)
    }
}
