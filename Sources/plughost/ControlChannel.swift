#if canImport(Glibc)
import Glibc
#endif

/// The channel between the supervisor and one worker: a Unix socket pair of
/// type `SOCK_SEQPACKET`, so each message arrives whole and alone. A message is
/// a verb and an optional text (JSON), separated by one space:
///
/// | from | message | meaning |
/// |---|---|---|
/// | supervisor | `prepare N` | build reload round N off to the side, answer, wait for the verdict |
/// | worker | `prepared N` / `refused N JSON` | built and started (waiting) / failed (already undone), with its report |
/// | supervisor | `commit N` / `abort N REASON` | swap, or undo because another worker failed |
/// | worker | `done N JSON` | its final report of round N |
/// | supervisor | `result N JSON` | the combined report of round N, for `POST /_plughost/reload` |
/// | worker | `reload` | asks for a reload round (admin endpoint, file watcher, a signal sent to the worker) |
/// | supervisor | `view JSON` | the supervisor's view (workers, restarts, crashes, quarantines) for `/_plughost/plugins` |
struct ControlChannel: Sendable {
    /// This end's descriptor.
    let descriptor: Int32

    /// The largest message (reports of reloads with many problems stay far below it).
    static let capacity = 1 << 20

    /// A connected pair: the supervisor's end and the worker's end (both close-on-exec).
    static func pair() -> (supervisor: ControlChannel, worker: ControlChannel)? {
        var descriptors: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &descriptors) == 0 else { return nil }
        return (ControlChannel(descriptor: descriptors[0]), ControlChannel(descriptor: descriptors[1]))
    }

    /// Sends `verb` with `text`; false when the other end is gone.
    @discardableResult
    func send(_ verb: String, _ text: String = "") -> Bool {
        let message = text.isEmpty ? verb : verb + " " + text
        return message.withCString { Glibc.send(descriptor, $0, strlen($0), Int32(MSG_NOSIGNAL)) } >= 0
    }

    /// The next message, waiting for it; nil when the other end closed.
    func receive() -> (verb: String, text: String)? {
        var buffer = [UInt8](repeating: 0, count: Self.capacity)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return nil }
            let message = String(decoding: buffer[..<count], as: UTF8.self)
            guard let space = message.firstIndex(of: " ") else { return (message, "") }
            return (String(message[..<space]), String(message[message.index(after: space)...]))
        }
    }

    /// Closes this end.
    func close() {
        _ = Glibc.close(descriptor)
    }
}

/// "N" or "N rest" split into the round number and the rest.
func roundAndRest(_ text: String) -> (round: Int, rest: String)? {
    let parts = text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
    guard let first = parts.first, let round = Int(first) else { return nil }
    return (round, parts.count > 1 ? String(parts[1]) : "")
}
