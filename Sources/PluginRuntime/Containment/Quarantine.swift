#if canImport(Glibc)
import Glibc
#endif

/// Which plugins are quarantined: decided from the crash journal, so it holds
/// across worker replacements and restarts of the whole host alike.
///
/// A plugin build (alias and library SHA-256) is quarantined once `limit`
/// of its crashes or hangs fall within `window` seconds of each other, counting
/// only those after the last lift of that alias (`plughost unquarantine`
/// appends a lift line). A build with another hash is not quarantined: a
/// reload that brings a fixed library lifts the quarantine by itself.
public struct QuarantineList: Sendable, Equatable {
    /// One quarantined build.
    public struct Entry: Sendable, Equatable {
        /// The plugin.
        public let alias: String
        /// The library build that crashed.
        public let sha256: String
        /// Its crashes and hangs counted since the last lift.
        public let crashes: Int
        /// The journal line of the last of them.
        public let lastCrash: CrashRecord
        /// The limit and window that quarantined it, for the reason.
        let limit: Int
        let window: Int

        /// One line: why, the last crash, and how to lift it.
        public var reason: String {
            let why = lastCrash.isLifecycleCrash
                ? "quarantined after a crash in \(lastCrash.call ?? "a lifecycle call")"
                : "quarantined after \(crashes) crashes within \(window) s"
            return "\(why) (last: \(lastCrash.signal) at \(lastCrash.time) in worker \(lastCrash.pid)); a build with another hash and a reload, or `plughost unquarantine \(alias)`, lifts it"
        }
    }

    /// The newest quarantined build of each alias.
    public let entries: [String: Entry]
    /// Every quarantined build of each alias (a new build that crashed while a good one runs, say).
    public let builds: [String: [Entry]]

    /// No quarantine.
    public static let none = QuarantineList(entries: [:], builds: [:])

    /// Whether nothing is quarantined.
    public var isEmpty: Bool { entries.isEmpty }

    /// The quarantine of `alias` built as `sha256` (hex), if any.
    public func entry(alias: String, sha256: String) -> Entry? {
        builds[alias]?.first { $0.sha256 == sha256 }
    }

    /// Decides from `records` (oldest first): `limit` crashes of one alias and hash within
    /// `window` seconds, or one crash in a lifecycle call (``CrashRecord/isLifecycleCrash``).
    /// A death charged to no plugin counts against every plugin whose call was in flight then.
    public static func evaluate(_ records: [CrashRecord], limit: Int, window: Int) -> QuarantineList {
        var crashes: [String: [(sha256: String, seconds: Int, record: CrashRecord)]] = [:]
        for record in records {
            guard let aliases = record.alias else {
                // Unattributed: each plugin in flight is a suspect, counted like a crash of its own.
                guard let seconds = record.seconds else { continue }
                var suspects = Set<String>()
                for call in record.inFlight where suspects.insert(call.alias + "/" + call.sha256).inserted {
                    crashes[call.alias, default: []].append((call.sha256, seconds, record))
                }
                continue
            }
            for alias in aliases.split(separator: ",").map(String.init) {
                if record.isLift {
                    crashes[alias] = nil
                } else if let sha256 = record.sha256, let seconds = record.seconds {
                    crashes[alias, default: []].append((sha256, seconds, record))
                }
            }
        }
        var entries: [String: Entry] = [:]
        var builds: [String: [Entry]] = [:]
        for (alias, list) in crashes {
            for sha256 in Set(list.map(\.sha256)) {
                let build = list.filter { $0.sha256 == sha256 }.sorted { $0.seconds < $1.seconds }
                let lifecycle = build.contains { $0.record.isLifecycleCrash && $0.record.alias != nil }
                guard lifecycle || (build.count >= limit && limit > 0) else { continue }
                let quarantined = lifecycle
                    || (0...(build.count - limit)).contains { build[$0 + limit - 1].seconds - build[$0].seconds <= window }
                guard quarantined, let last = build.last else { continue }
                let entry = Entry(alias: alias, sha256: sha256, crashes: build.count, lastCrash: last.record, limit: limit, window: window)
                builds[alias, default: []].append(entry)
                // Of several quarantined builds of one alias, the newest crash names the one listed first.
                if let known = entries[alias], known.lastCrash.seconds ?? 0 > last.seconds { continue }
                entries[alias] = entry
            }
        }
        return QuarantineList(entries: entries, builds: builds.mapValues { $0.sorted { $0.sha256 < $1.sha256 } })
    }

    /// The quarantine the journal at `path` holds under `config`'s limit and window.
    public static func read(journal path: String, config: HostConfig) -> QuarantineList {
        evaluate(CrashJournal.records(path: path), limit: config.crashLimit, window: config.crashWindowSeconds)
    }
}

extension CrashJournal {
    /// Appends a lift of `alias`'s quarantine to the journal at `path` (for
    /// `plughost unquarantine`): its crashes before this line no longer count.
    public static func appendLift(alias: String, path: String) throws(PluginError) {
        let line = "\(CrashRecord.timestamp(time(nil))) pid=\(getpid()) signal=- event=lifted alias=\(alias) note=\"quarantine lifted by hand\"\n"
        try append(line, path: path)
    }

    /// Appends a hang to the journal at `path`: charged to `alias` like a crash.
    public static func appendHang(alias: String, version: String, sha256: String, milliseconds: Int, path: String) throws(PluginError) {
        let line = "\(CrashRecord.timestamp(time(nil))) pid=\(getpid()) signal=HANG alias=\(alias) version=\(version) sha256=\(sha256) state=loaded note=\"a call into \(alias) \(version) ran for \(milliseconds) ms\"\n"
        try append(line, path: path)
    }

    /// A journal line the supervisor writes for worker `pid`, which could not write its own:
    /// `signal` ("SIGKILL", "EXIT", "HANG", …) charged to `build` in `call`, or to no plugin
    /// with every call `inFlight` listed; `note` says what the evidence was (quotes are dropped).
    /// `syscall` names the call a seccomp kill refused; `source` says who wrote the line
    /// ("supervisor", or "isolation" for a worker about a plugin process).
    public static func supervisorLine(pid: Int32, signal: String, build: JournaledBuild?, call: String?,
                                      inFlight: [(build: JournaledBuild, call: String)], note: String, now: Int? = nil,
                                      syscall: String? = nil, source: String = "supervisor") -> String {
        func field(_ text: String) -> String {
            let cleaned = text.filter { !$0.isWhitespace && $0 != "\"" && $0 != "," && $0 != "=" }
            return cleaned.isEmpty ? "-" : cleaned
        }
        var line = "\(CrashRecord.timestamp(now.map { time_t($0) } ?? time(nil))) pid=\(pid) signal=\(field(signal))"
        if let build {
            line += " alias=\(field(build.alias)) version=\(field(build.manifestVersion)) plugin_version=\(field(build.pluginVersion)) sha256=\(field(build.sha256)) state=loaded"
        } else {
            line += " alias=-"
        }
        if let call { line += " call=\(field(call))" }
        if build == nil && !inFlight.isEmpty {
            line += " inflight=" + inFlight.map { "\(field($0.build.alias))@\(field($0.build.sha256)):\(field($0.call))" }.joined(separator: ",")
        }
        if let syscall { line += " syscall=\(field(syscall))" }
        line += " source=\(field(source)) note=\"\(note.filter { $0 != "\"" && $0 != "\n" })\""
        return line + "\n"
    }

    /// Appends `line` (one journal line, ending in a newline) to the journal at `path`.
    public static func append(line: String, path: String) throws(PluginError) {
        try append(line, path: path)
    }

    private static func append(_ line: String, path: String) throws(PluginError) {
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw PluginError(.loadFailed, file: path, reason: "cannot open the crash journal: \(FileSystem.errorText())")
        }
        defer { close(descriptor) }
        let written = line.withCString { write(descriptor, $0, strlen($0)) }
        guard written == line.utf8.count else {
            throw PluginError(.loadFailed, file: path, reason: "cannot write to the crash journal: \(FileSystem.errorText())")
        }
    }
}

extension QuarantineList {
    /// The entries of `entries` whose library on disk is a quarantined build, as failures by alias.
    /// Libraries are hashed only for aliases that have a quarantine.
    func failures(of entries: [EntryPoint], config: HostConfig) -> [String: FailedPlugin] {
        guard !isEmpty else { return [:] }
        var failures: [String: FailedPlugin] = [:]
        for entry in entries where self.builds[entry.alias] != nil {
            let fingerprint = PluginFingerprint(entry, config: config)
            if let quarantine = self.entry(alias: entry.alias, sha256: fingerprint.contentHash) {
                failures[entry.alias] = FailedPlugin(quarantined: entry, fingerprint: fingerprint, quarantine: quarantine)
            }
        }
        return failures
    }
}

extension PluginRuntime {
    /// What the crash journal quarantines now under `config` (nothing without containment files).
    func quarantine(_ config: HostConfig) -> QuarantineList {
        guard let containment else { return .none }
        return QuarantineList.read(journal: containment.journal, config: config)
    }

    /// The fences of the quarantined failures in `ledger`, with their guards from the guard book.
    func fences(_ ledger: Ledger) -> [QuarantineFence] {
        ledger.failed.values.compactMap { failure -> QuarantineFence? in
            guard let quarantine = failure.quarantine else { return nil }
            return QuarantineFence(alias: failure.entry.alias, reason: quarantine.reason, lastCrash: quarantine.lastCrash.line,
                                   guards: guardBook?.guards(of: failure.entry.alias) ?? [])
        }.sorted { $0.alias < $1.alias }
    }

    /// Keeps what `generation`'s plugins guard in the guard book, for fences later.
    func recordGuards(of generation: Generation) {
        guardBook?.record(generation.guards)
    }
}

/// A plugin build as a journal line names it.
public struct JournaledBuild: Sendable, Equatable, Codable {
    /// The plugin alias.
    public var alias: String
    /// The manifest's version.
    public var manifestVersion: String
    /// The version its descriptor declares.
    public var pluginVersion: String
    /// Its library's SHA-256 (hex).
    public var sha256: String

    /// A build of `alias`.
    public init(alias: String, manifestVersion: String, pluginVersion: String, sha256: String) {
        self.alias = alias
        self.manifestVersion = manifestVersion
        self.pluginVersion = pluginVersion
        self.sha256 = sha256
    }
}
