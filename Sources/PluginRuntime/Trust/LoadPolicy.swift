#if canImport(Glibc)
import Glibc
#endif

/// What the host config says about which files and libraries may be loaded:
/// permissions, pins and signatures. Built from a ``HostConfig`` for each load pass.
struct LoadPolicy: Sendable {
    /// Check owners and modes of every file and folder read (OpenSSH's StrictModes).
    var strictPermissions: Bool
    /// Expected library digests by alias.
    var pins: [String: LibraryDigest]
    /// Keys whose signatures count.
    var trustedKeys: [SigningKey.Public]
    /// Refuse libraries without a valid trusted signature.
    var requireSignatures: Bool
    /// Where shadow copies go (see ``ShadowCopy``).
    var stateDirectory: String?
    /// How each alias is isolated (`[isolation.ALIAS]`); an alias not here runs in the host's process.
    var isolation: [String: IsolationSettings]
    /// Crashes of one build within ``crashWindowSeconds`` that quarantine it (an isolated plugin's
    /// process is then not restarted).
    var crashLimit = 3
    /// The window of ``crashLimit``, in seconds.
    var crashWindowSeconds = 60
    /// Parents already checked in this pass.
    let safeParents = FilePermissions.SafeParents()

    /// The policy `config` sets.
    init(_ config: HostConfig) {
        strictPermissions = config.strictPermissions
        pins = config.pins
        trustedKeys = config.trustedKeys
        requireSignatures = config.requireSignatures
        stateDirectory = config.stateDirectory
        crashLimit = config.crashLimit
        crashWindowSeconds = config.crashWindowSeconds
        isolation = config.isolation
    }

    /// Refuses `path` when strict permissions are on and someone else could have written it.
    func checkPermissions(_ path: String, code: PluginError.Code = .unsafePermissions, alias: String? = nil) throws(PluginError) {
        guard strictPermissions else { return }
        do {
            try FilePermissions.check(path, known: safeParents)
        } catch {
            throw PluginError(.unsafePermissions, file: path, alias: alias,
                              reason: "\(error.description) (or set [host] strict-permissions = false while developing)")
        }
    }

    /// Refuses a library whose digest is not the one pinned for `alias`.
    func checkPin(alias: String, digest: LibraryDigest, file: String) throws(PluginError) {
        guard let expected = pins[alias], expected != digest else { return }
        throw PluginError(.pinMismatch, file: file, alias: alias,
                          reason: "expected \(expected), found \(digest) (a different build than the one pinned: `plughost pin` prints the pins of what is there now)")
    }

    /// Checks the signature file beside `file` against `digest`, the digest of the bytes loaded.
    ///
    /// Without trusted keys nothing is checked. With them, a present signature
    /// must be valid and made by a trusted key; a missing one is refused only
    /// when signatures are required.
    func checkSignature(file: String, digest: LibraryDigest, alias: String?) throws(PluginError) {
        guard !trustedKeys.isEmpty else { return }
        func refuse(_ reason: String) -> PluginError { PluginError(.signatureRefused, file: file, alias: alias, reason: reason) }
        let signaturePath = LibrarySignature.path(for: file)
        var info = stat()
        if lstat(signaturePath, &info) != 0 {
            // Only a signature that is not there counts as unsigned; one that cannot be seen is refused.
            guard errno == ENOENT else { throw refuse("cannot read \(signaturePath): \(FileSystem.errorText())") }
            if requireSignatures { throw refuse("not signed: no \(FileSystem.fileName(of: signaturePath)) beside it (sign it with `plughost sign`)") }
            return
        }
        guard info.st_mode & S_IFMT == S_IFREG, info.st_size <= 4096 else {
            throw refuse("\(signaturePath) is not a signature file (a regular file of one short line is expected)")
        }
        let text: String
        do {
            text = String(decoding: try FileSystem.readFile(signaturePath), as: UTF8.self)
        } catch {
            throw refuse("cannot read \(signaturePath): \(error.description)")
        }
        guard let signature = LibrarySignature(parsing: text) else {
            throw refuse("\(signaturePath) is not a signature file (expected one line: ed25519:KEY SIGNATURE)")
        }
        guard trustedKeys.contains(signature.signer) else {
            throw refuse("signed by \(signature.signer), which is not in [host] trusted-keys")
        }
        guard signature.verifies(digest) else {
            throw refuse("the signature does not match the library's bytes (\(digest)): changed after signing, or signed for another build")
        }
    }

    /// Both checks a library gets for one alias: its signature and its pin.
    func admit(_ library: PluginLibrary, alias: String) throws(PluginError) {
        try checkSignature(file: library.path, digest: library.digest, alias: alias)
        try checkPin(alias: alias, digest: library.digest, file: library.path)
    }
}
