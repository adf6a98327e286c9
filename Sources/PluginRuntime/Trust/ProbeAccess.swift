/// Who may ask the probe endpoints, `/_plughost/health` and `/_plughost/ready` (`[host] probe-access`).
public enum ProbeAccess: String, Sendable, Hashable {
    /// The admin rule (``AdminAccess``), and loopback clients always: a probe on the
    /// host itself needs no token. The default.
    case admin
    /// Any client: they tell only whether the host is alive and ready (an orchestrator
    /// probing from another address, as Kubernetes' kubelet does).
    case anywhere
}
