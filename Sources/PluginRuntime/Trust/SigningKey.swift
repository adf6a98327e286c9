import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Ed25519 keys for library signatures (`plughost keygen`, `plughost sign`,
/// `[host] trusted-keys`).
///
/// A signature covers ``message(for:)``: a fixed context string followed by
/// the library's SHA-256 digest, so the host verifies the very bytes it loads
/// (their digest is computed from the shadow copy's buffer) and can check an
/// already loaded library again on reload without reading it twice.
public enum SigningKey {
    /// A public key, written `ed25519:` followed by the base64 of its 32 bytes.
    public struct Public: Hashable, Sendable, CustomStringConvertible {
        /// The raw 32 key bytes.
        public let rawBytes: [UInt8]

        /// Parses `ed25519:BASE64`; nil when malformed or not 32 bytes.
        public init?(parsing text: String) {
            guard text.hasPrefix("ed25519:"), let data = Data(base64Encoded: String(text.dropFirst(8))),
                  data.count == 32, (try? Curve25519.Signing.PublicKey(rawRepresentation: data)) != nil else { return nil }
            rawBytes = Array(data)
        }

        init(_ key: Curve25519.Signing.PublicKey) {
            rawBytes = Array(key.rawRepresentation)
        }

        /// `ed25519:` and the base64 of the key bytes.
        public var description: String { "ed25519:" + Data(rawBytes).base64EncodedString() }

        /// Whether `signature` is this key's signature of `digest`'s message.
        func verifies(_ signature: [UInt8], of digest: LibraryDigest) -> Bool {
            guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: rawBytes) else { return false }
            return key.isValidSignature(signature, for: SigningKey.message(for: digest))
        }
    }

    /// A private key, kept in a file of one line: `ed25519-private:` and the base64 of its 32-byte seed.
    public struct Private: Sendable {
        private let key: Curve25519.Signing.PrivateKey

        /// A new random key.
        public init() {
            key = Curve25519.Signing.PrivateKey()
        }

        /// Parses a key file's text; nil when malformed.
        public init?(parsing text: String) {
            let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            guard line.hasPrefix("ed25519-private:"), let data = Data(base64Encoded: String(line.dropFirst(16))),
                  let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: data) else { return nil }
            self.key = key
        }

        /// The key file's text.
        public var fileText: String { "ed25519-private:" + key.rawRepresentation.base64EncodedString() + "\n" }

        /// The matching public key.
        public var publicKey: Public { Public(key.publicKey) }

        /// Signs the library whose bytes have `digest`.
        public func sign(_ digest: LibraryDigest) throws -> LibrarySignature {
            let signature = try key.signature(for: SigningKey.message(for: digest))
            return LibrarySignature(signer: publicKey, signature: Array(signature))
        }
    }

    /// What is signed: a context string (so no other ed25519 use can be replayed) and the digest.
    static func message(for digest: LibraryDigest) -> [UInt8] {
        Array("plughost library signature v1\n".utf8) + digest.bytes
    }
}
