#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A library's signature file, `LIBRARY.sig`: one line,
/// `ed25519:PUBLIC-KEY-BASE64 SIGNATURE-BASE64`.
///
/// The signer's key is named so that a refusal can say which key signed
/// (and that it is not trusted); only keys in `[host] trusted-keys` count.
public struct LibrarySignature: Sendable {
    /// The key that made the signature.
    public let signer: SigningKey.Public
    /// The 64 signature bytes.
    public let signature: [UInt8]

    /// The signature file's path for the library at `libraryPath`.
    public static func path(for libraryPath: String) -> String { libraryPath + ".sig" }

    init(signer: SigningKey.Public, signature: [UInt8]) {
        self.signer = signer
        self.signature = signature
    }

    /// Parses a signature file's text; nil when malformed.
    public init?(parsing text: String) {
        let fields = text.split(whereSeparator: { $0 == " " || $0.isNewline })
        guard fields.count == 2, let signer = SigningKey.Public(parsing: String(fields[0])),
              let signature = Data(base64Encoded: String(fields[1])), signature.count == 64 else { return nil }
        self.signer = signer
        self.signature = Array(signature)
    }

    /// The file's text.
    public var fileText: String { "\(signer) \(Data(signature).base64EncodedString())\n" }

    /// Whether this is a valid signature of `digest` by its signer.
    public func verifies(_ digest: LibraryDigest) -> Bool {
        signer.verifies(signature, of: digest)
    }
}
