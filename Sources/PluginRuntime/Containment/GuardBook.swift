#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// What each plugin guarded when it last served (its check subscriptions, its
/// endpoints, its wrappers and what they wrapped), kept in a file of the state
/// folder: a worker that starts with a plugin quarantined never loads it, and
/// learns from this file what must fail closed in its place.
///
/// One line per guard, `ALIAS<TAB>GUARD`. Rewritten (atomically) when what
/// serves changed; a plugin that no longer serves keeps its last lines.
final class GuardBook: Sendable {
    /// The file.
    let path: String
    private let known: Mutex<[String: [String]]?> = Mutex(nil)

    init(path: String) {
        self.path = path
    }

    /// The guards `alias` had when it last served (none known: empty).
    func guards(of alias: String) -> [String] {
        withLoaded { $0[alias] ?? [] }
    }

    /// Records what the plugins of `guards` guard now (by alias), keeping the others' lines.
    func record(_ guards: [String: [String]]) {
        let text: String? = withLoaded { known in
            var next = known
            for (alias, lines) in guards { next[alias] = lines }
            guard next != known else { return nil }
            known = next
            return next.keys.sorted().flatMap { alias in next[alias]!.map { "\(alias)\t\($0)\n" } }.joined()
        }
        guard let text else { return }
        let temporary = path + ".tmp.\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return }
        let complete = text.withCString { write(descriptor, $0, strlen($0)) } == text.utf8.count
        close(descriptor)
        if !complete || rename(temporary, path) != 0 { unlink(temporary) }
    }

    private func withLoaded<R>(_ body: (inout [String: [String]]) -> R) -> R {
        known.withLock { cached in
            if cached == nil { cached = Self.read(path) }
            return body(&cached!)
        }
    }

    private static func read(_ path: String) -> [String: [String]] {
        guard let bytes = try? FileSystem.readFile(path) else { return [:] }
        var guards: [String: [String]] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            guard let tab = line.firstIndex(of: "\t") else { continue }
            guards[String(line[..<tab]), default: []].append(String(line[line.index(after: tab)...]))
        }
        return guards
    }
}

/// Where a runtime keeps what containment needs across processes: the crash
/// journal that decides quarantines, and the guard book.
public struct ContainmentFiles: Sendable {
    /// The crash journal (see ``CrashJournal``).
    public let journal: String
    /// The guard book (see docs/CONTAINMENT.md).
    public let guards: String

    /// The files in the state folder `folder`.
    public init(stateFolder folder: String) {
        journal = folder + "/" + CrashJournal.fileName
        guards = folder + "/guards"
    }
}
