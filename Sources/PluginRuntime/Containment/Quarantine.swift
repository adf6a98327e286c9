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
            "quarantined after \(crashes) crashes within \(window) s (last: \(lastCrash.signal) at \(lastCrash.time) in worker \(lastCrash.pid)); a build with another hash and a reload, or `plughost unquarantine \(alias)`, lifts it"
        }
    }

    /// Quarantined builds by alias.
    public let entries: [String: Entry]

    /// No quarantine.
    public static let none = QuarantineList(entries: [:])

    /// Whether nothing is quarantined.
    public var isEmpty: Bool { entries.isEmpty }

    /// The quarantine of `alias` built as `sha256` (hex), if any.
    public func entry(alias: String, sha256: String) -> Entry? {
        guard let entry = entries[alias], entry.sha256 == sha256 else { return nil }
        return entry
    }

    /// Decides from `records` (oldest first): `limit` crashes of one alias and hash within `window` seconds.
    public static func evaluate(_ records: [CrashRecord], limit: Int, window: Int) -> QuarantineList {
        var crashes: [String: [(sha256: String, seconds: Int, record: CrashRecord)]] = [:]
        for record in records {
            guard let aliases = record.alias else { continue }
            for alias in aliases.split(separator: ",").map(String.init) {
                if record.isLift {
                    crashes[alias] = nil
                } else if let sha256 = record.sha256, let seconds = record.seconds {
                    crashes[alias, default: []].append((sha256, seconds, record))
                }
            }
        }
        var entries: [String: Entry] = [:]
        for (alias, list) in crashes {
            for sha256 in Set(list.map(\.sha256)) {
                let build = list.filter { $0.sha256 == sha256 }.sorted { $0.seconds < $1.seconds }
                guard build.count >= limit, limit > 0 else { continue }
                let quarantined = (0...(build.count - limit)).contains { build[$0 + limit - 1].seconds - build[$0].seconds <= window }
                guard quarantined, let last = build.last else { continue }
                // Of several quarantined builds of one alias, the newest crash names the one that counts.
                if let known = entries[alias], known.lastCrash.seconds ?? 0 > last.seconds { continue }
                entries[alias] = Entry(alias: alias, sha256: sha256, crashes: build.count, lastCrash: last.record,
                                       limit: limit, window: window)
            }
        }
        return QuarantineList(entries: entries)
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
        for entry in entries where self.entries[entry.alias] != nil {
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
