import Crypto

extension AdminAccess {
    /// Whether an `Authorization` header carries `Bearer <token>`, compared in
    /// constant time: both sides are hashed with SHA-256 and swift-crypto
    /// compares digests without an early exit, so the time taken says nothing
    /// about how much of the token was right.
    public static func authorizationMatches(_ authorization: String?, token: String?) -> Bool {
        guard let token, !token.isEmpty, let authorization else { return false }
        let prefix = "bearer "  // the scheme is case-insensitive (RFC 9110, 11.1)
        guard authorization.utf8.count > prefix.utf8.count,
              authorization.utf8.prefix(prefix.utf8.count).elementsEqual(prefix.utf8, by: { $0 | 0x20 == $1 }) else { return false }
        let presented = SHA256.hash(data: Array(authorization.utf8.dropFirst(prefix.utf8.count)))
        return presented == SHA256.hash(data: Array(token.utf8))
    }
}
