import ArgumentParser
import Foundation
import PluginRuntime

/// `plughost keygen`: a new ed25519 key pair for signing plugin libraries.
struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make an ed25519 key pair for signing plugin libraries: the private key in FILE (mode 0600), the public key in FILE.pub.")

    @Option(name: .long, help: "Where to write the private key (never overwritten).")
    var out: String = "plughost-signing.key"

    func run() throws {
        let key = SigningKey.Private()
        for path in [out, out + ".pub"] where FileSystem.exists(path) {
            throw ValidationError("\(path) exists; not overwriting a key")
        }
        // O_EXCL with mode 0600 from the start: the private key is never readable by others, even briefly.
        try FileSystem.createExclusively(out, key.fileText, mode: 0o600)
        try FileSystem.createExclusively(out + ".pub", "\(key.publicKey)\n", mode: 0o644)
        print("private key: \(out) (keep it secret; sign with `plughost sign LIBRARY --key \(out)`)")
        print("public key:  \(key.publicKey)")
        print("host config: trusted-keys = [\"\(key.publicKey)\"] under [host]")
    }
}
