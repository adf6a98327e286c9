#if canImport(Glibc)
import Glibc
#endif
import CCrashJournal
import Synchronization

/// The crash journal: one line per fatal signal in a process that runs plugin
/// code, naming the plugin it came from (see docs/CONTAINMENT.md).
///
/// The line is written by a C signal handler with async-signal-safe calls only,
/// from address ranges recorded when each library was loaded:
///
///     2026-11-23T23:59:59Z pid=4242 signal=SIGSEGV alias=crashy version=1.0.0 sha256=… state=loaded note="fault in crashy 1.0.0" address=0x0 pc=crashy+0x1139 frames=…
///
/// `state=retired` means the code ran after its plugin was stopped (a thread that
/// outlived `stop`). Frames inside a plugin library are `alias+0xOFFSET`
/// (relative to the library's first mapped byte, for `addr2line`); others are addresses.
public enum CrashJournal {
    /// The journal's file name inside the host's state folder.
    public static let fileName = "crashes.journal"

    /// Whether `line` of a child's standard error is the handler's copy of a journal line
    /// (a fatal signal, or exit called in plugin code), not something the plugin wrote.
    public static func isEcho(_ line: Substring) -> Bool {
        line.hasPrefix("plughost: fatal signal: ") || line.hasPrefix("plughost: exit in plugin code: ")
    }

    /// The journal this process's handlers append to, once ``install(path:)`` ran.
    public static var installedPath: String? { installed.withLock { $0 } }
    private static let installed = Mutex<String?>(nil)

    /// Installs the fatal-signal handlers of this process, appending to `path`.
    /// Call once, before any plugin runs; the Swift runtime's own backtracer is
    /// replaced (it would delay the process's death by seconds).
    public static func install(path: String) throws(PluginError) {
        guard ph_crash_install(path) == 0 else {
            throw PluginError(.loadFailed, file: path, alias: nil, reason: "cannot open the crash journal: \(String(cString: strerror(errno)))")
        }
        installed.withLock { $0 = path }
    }

    /// The records in the journal at `path`, oldest first (none if it does not exist).
    /// Lines that do not parse are skipped: a crash may have cut the last one short.
    public static func records(path: String) -> [CrashRecord] {
        guard let bytes = try? FileSystem.readFile(path) else { return [] }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap { CrashRecord(line: String($0)) }
    }
}

/// One line of the crash journal.
public struct CrashRecord: Sendable, Equatable {
    // Equatable by its line (see ==).
    /// When it happened, as written (UTC, ISO 8601).
    public let time: String
    /// The process that died.
    public let pid: Int32
    /// "SIGSEGV", "SIGABRT", …
    public let signal: String
    /// The plugin aliases of the library the fault was in (comma-separated), or nil when it was in none.
    public let alias: String?
    /// The library's SHA-256, when attributed.
    public let sha256: String?
    /// "loaded", or "retired" for code that ran after its plugin was stopped.
    public let state: String?
    /// "lifted" for a line that lifts a quarantine (`plughost unquarantine`), else nil.
    public let event: String?
    /// The kind of plugin call the thread was in ("create", "endpoint", …), when known.
    public let call: String?
    /// For a death no evidence charged to one plugin: every call in flight then, as
    /// (alias, sha256, kind) (`inflight=alias@sha256:kind,…`).
    public let inFlight: [(alias: String, sha256: String, call: String)]
    /// The line as written.
    public let line: String

    /// Parses a journal line; nil when it is not one.
    public init?(line: String) {
        var fields: [String: String] = [:]
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        guard let first = parts.first, first.count == 20, first.hasSuffix("Z") else { return nil }
        for part in parts.dropFirst() {
            guard let equals = part.firstIndex(of: "=") else { continue }
            fields[String(part[..<equals])] = String(part[part.index(after: equals)...])
        }
        guard let pidText = fields["pid"], let pid = Int32(pidText), let signal = fields["signal"] else { return nil }
        self.time = String(first)
        self.pid = pid
        self.signal = signal
        self.alias = fields["alias"].flatMap { $0 == "-" ? nil : $0 }
        self.sha256 = fields["sha256"].flatMap { $0 == "-" ? nil : $0 }
        self.state = fields["state"]
        self.event = fields["event"]
        self.call = fields["call"]
        self.inFlight = (fields["inflight"] ?? "").split(separator: ",").compactMap { item -> (String, String, String)? in
            let byAt = item.split(separator: "@", maxSplits: 1)
            guard byAt.count == 2 else { return nil }
            let byColon = byAt[1].split(separator: ":", maxSplits: 1)
            guard byColon.count == 2 else { return nil }
            return (String(byAt[0]), String(byColon[0]), String(byColon[1]))
        }
        self.line = line
    }

    /// Two records are the same when their lines are.
    public static func == (lhs: CrashRecord, rhs: CrashRecord) -> Bool { lhs.line == rhs.line }

    /// Whether the death happened in a lifecycle call (a crash there quarantines its build at once:
    /// the call runs once per build, so it would crash again).
    public var isLifecycleCrash: Bool {
        guard let call, signal != "HANG", !isLift else { return false }
        return Self.lifecycleCalls.contains(call)
    }

    /// The calls `call_record.h` times (lifecycle and assembly).
    public static let lifecycleCalls: Set<String> = [
        "parse_config", "create", "start", "stop", "destroy", "save_state", "restore_state", "accepts", "prepare", "release", "entry",
    ]

    /// Whether the line lifts the quarantine of ``alias`` instead of recording a crash.
    public var isLift: Bool { event == "lifted" }

    /// ``time`` in seconds since 1970, or nil when it does not parse.
    public var seconds: Int? {
        let digits = Array(time.utf8)
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                guard digits[index] >= 48 && digits[index] <= 57 else { return nil }
                value = value * 10 + Int(digits[index] - 48)
            }
            return value
        }
        guard digits.count == 20, let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19) else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let seconds = timegm(&parts)
        return seconds < 0 ? nil : Int(seconds)
    }

    /// `seconds` since 1970 as the journal writes times (UTC, ISO 8601).
    static func timestamp(_ seconds: time_t) -> String {
        var value = seconds
        var parts = tm()
        gmtime_r(&value, &parts)
        func two(_ number: Int32) -> String { number < 10 ? "0\(number)" : "\(number)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }
}
