#if canImport(Glibc)
import Glibc
#endif
import CProcessControl

/// The supervisor's health check of one worker: a connection to the worker's
/// health socket, which the worker serves from the same event loop as its
/// HTTP connections. "ping" must come back as "pong"; a worker that cannot
/// accept (it ran out of descriptors, say) or whose event loop is stuck stays
/// silent, and ``advance(interval:)`` says for how long.
final class HealthCheck {
    /// The health socket's abstract name.
    let name: String
    /// The probe connection under way, if any.
    private(set) var descriptor: Int32?
    private var written = false
    private var lastAnswer = ContinuousClock.now
    private var lastProbe = ContinuousClock.now

    init(name: String) {
        self.name = name
    }

    /// Starts a probe when none runs and `interval` passed, and reads an answer that came.
    /// - Returns: How long the worker has been silent while a probe waits (nil when none waits).
    func advance(interval: Duration) -> Duration? {
        let now = ContinuousClock.now
        guard let descriptor else {
            if now - lastProbe >= interval { start(at: now) }
            return nil
        }
        if !written {
            let sent = "ping\n".withCString { send(descriptor, $0, 5, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
            if sent == 5 {
                written = true
            } else if sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK {
                close()
            }
        } else {
            var buffer = [UInt8](repeating: 0, count: 16)
            let count = recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if count > 0 && buffer.starts(with: Array("pong".utf8)) {
                lastAnswer = now
                close()
            } else if count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                // Closed without an answer: counts as silence; the next probe tries again.
                close()
            }
        }
        return now - lastAnswer
    }

    /// What to poll the probe connection for: writable only until "ping" is written (a
    /// socket stays writable, and asking for it then would wake the loop at once, again and again).
    var pollEvents: Int16 {
        written ? Int16(POLLIN) : Int16(POLLIN | POLLOUT)
    }

    /// Forgets the silence so far (a worker not serving yet, or one being replaced).
    func reset() {
        close()
        lastAnswer = .now
    }

    private func start(at now: ContinuousClock.Instant) {
        lastProbe = now
        let fd = ph_connect_abstract(name)
        guard fd >= 0 else { return }
        descriptor = fd
        written = false
    }

    /// Closes the probe connection.
    func close() {
        if let descriptor { _ = Glibc.close(descriptor) }
        descriptor = nil
        written = false
    }
}
