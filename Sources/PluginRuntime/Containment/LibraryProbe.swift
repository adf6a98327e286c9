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

    private static let installed = Mutex<Probe?>(nil)
    /// Digests of libraries that loaded in a probe: not probed again in this process.
    private static let passed = Mutex<Set<LibraryDigest>>([])

    /// Installs `probe` for every later load pass of this process (nil removes it).
    public static func install(_ probe: Probe?) {
        installed.withLock { $0 = probe }
    }

    /// Probes those of `paths` not probed before; returns the failures by path.
    static func check(_ paths: [String]) -> [String: String] {
        guard let probe = installed.withLock({ $0 }) else { return [:] }
        var digests: [String: LibraryDigest] = [:]
        for path in Set(paths) {
            // A library that cannot be read fails later with the reason; nothing to probe.
            if let digest = try? ShadowCopy.digest(of: path) { digests[path] = digest }
        }
        let known = passed.withLock { $0 }
        let fresh = digests.filter { !known.contains($0.value) }.map(\.key).sorted()
        guard !fresh.isEmpty else { return [:] }
        let failures = probe(fresh)
        passed.withLock { set in
            for path in fresh where failures[path] == nil { if let digest = digests[path] { set.insert(digest) } }
        }
        return failures
    }
}
