#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Loading a library is a fault too: `dlopen` runs its relocations and
/// constructors, and the runtime calls its entry point, so a corrupt or hostile
/// library can kill the process that loads it whatever the ELF pre-checks say.
///
/// A program that must survive that (`plughost serve`, `check`, `list`) installs
/// a probe: before a load pass opens a library it has not probed yet, the probe
/// loads it in another process that serves nothing, and a library that crashed
/// there is refused with the reason instead of being opened here. The runtime
/// itself starts no process: without a probe, libraries are opened directly.
public enum LibraryProbe {
    /// Loads `libraries` (paths) elsewhere; returns why each one that could not be
    /// loaded there failed (those that loaded are absent from the result).
    public typealias Probe = @Sendable (_ libraries: [String]) -> [String: String]

    private static let installed = Mutex<(probe: Probe, record: String?)?>(nil)
    /// Digests (hex) of libraries that loaded in a probe: not probed again.
    private static let passed = Mutex<Set<String>>([])
    /// Told the path of every library just before a load pass opens it (`plughost check`'s child reports progress with it).
    private static let observer = Mutex<(@Sendable (String) -> Void)?>(nil)

    /// Calls `observer` with each library's path right before this process opens it (nil removes it).
    public static func observeOpens(_ observer: (@Sendable (String) -> Void)?) {
        self.observer.withLock { $0 = observer }
    }

    /// Tells the observer, if any, that `path` is about to be opened.
    static func willOpen(_ path: String) {
        observer.withLock { $0 }?(path)
    }

    /// Installs `probe` for every later load pass of this process (nil removes it).
    /// - Parameter record: A file that keeps the digests of libraries that passed, so a
    ///   replacement worker does not probe them again (one SHA-256 in hex per line).
    public static func install(_ probe: Probe?, record: String? = nil) {
        installed.withLock { $0 = probe.map { ($0, record) } }
        if let record, let bytes = try? FileSystem.readFile(record) {
            let digests = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init).filter { $0.count == 64 }
            passed.withLock { $0.formUnion(digests) }
        }
    }

    /// Probes those of `paths` not probed before; returns the failures by path.
    static func check(_ paths: [String]) -> [String: String] {
        guard let (probe, record) = installed.withLock({ $0 }) else { return [:] }
        var digests: [String: String] = [:]
        // Committed bytes laid over the disk were loaded by a worker before; a probe would load the disk's file.
        for path in Set(paths) where !FileOverlay.holds(path) {
            // A library that cannot be read fails later with the reason; nothing to probe.
            if let digest = try? ShadowCopy.digest(of: path) { digests[path] = digest.hex }
        }
        let known = passed.withLock { $0 }
        let fresh = digests.filter { !known.contains($0.value) }.map(\.key).sorted()
        guard !fresh.isEmpty else { return [:] }
        let failures = probe(fresh)
        let newlyPassed = fresh.filter { failures[$0] == nil }.compactMap { digests[$0] }
        passed.withLock { $0.formUnion(newlyPassed) }
        if let record, !newlyPassed.isEmpty {
            let descriptor = open(record, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
            if descriptor >= 0 {
                let text = newlyPassed.map { $0 + "\n" }.joined()
                _ = text.withCString { write(descriptor, $0, strlen($0)) }
                close(descriptor)
            }
        }
        return failures
    }
}
