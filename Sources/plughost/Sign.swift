import ArgumentParser
import Foundation
import PluginRuntime

/// `plughost sign LIBRARY… --key FILE`: writes `LIBRARY.sig` beside each library.
struct Sign: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sign plugin libraries with an ed25519 key from `plughost keygen`: writes LIBRARY.sig beside each.",
        discussion: "A host with the public key in [host] trusted-keys accepts the library only while its bytes are the ones signed.")

    @Argument(help: "The libraries (.so) to sign.")
    var libraries: [String]

    @Option(name: .long, help: "The private key file.")
    var key: String

    func validate() throws {
        if libraries.isEmpty { throw ValidationError("name at least one library to sign") }
    }

    func run() throws {
        guard let text = try? String(contentsOfFile: key, encoding: .utf8) else { throw ValidationError("\(key): cannot read the key file") }
        guard let privateKey = SigningKey.Private(parsing: text) else {
            throw ValidationError("\(key): not a plughost signing key (expected one line 'ed25519-private:BASE64' from `plughost keygen`)")
        }
        for library in libraries {
            let digest: LibraryDigest
            do { digest = try LibraryDigest(ofFileAt: library) } catch { throw ValidationError(error.description) }
            let signature = try privateKey.sign(digest)
            let path = LibrarySignature.path(for: library)
            try signature.fileText.write(toFile: path, atomically: true, encoding: .utf8)
            print("signed \(library) (\(digest)) with \(privateKey.publicKey): \(path)")
        }
    }
}
