/// Who may use the host's admin endpoints (`/_plughost/…`): `[host] admin`.
public enum AdminAccess: String, Sendable, Hashable {
    /// Clients connected from this machine only (127.0.0.0/8, ::1, a Unix socket). The default.
    case loopback
    /// Any client that sends `Authorization: Bearer <[host] admin-token>` (compared in constant time).
    case token
    /// Nobody: every admin path answers 404 as if it did not exist.
    case off
}
