#if canImport(Glibc)
import Glibc
#endif
import CProcessControl
import Synchronization
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The channel between the supervisor and one worker: a Unix stream socket
/// pair carrying ``ControlMessage`` values, each a frame of a 4-byte
/// big-endian length and that many bytes of JSON. A frame may carry open
/// descriptors (SCM_RIGHTS, attached to its first byte); the receiver queues
/// them and a message that announces one claims it (``ControlMessage/committed(builds:)``).
///
/// The worker's end blocks (a thread of its own reads it; senders take turns).
/// The supervisor's end never blocks: what the socket does not take now waits
/// in ``pending`` until the supervisor's loop sees the socket writable, so a
/// worker that stopped reading cannot stall the supervisor.
public final class ControlChannel: @unchecked Sendable {
    // @unchecked Sendable: a worker's channel is read by one thread and written under
    // `sending`; the supervisor's is used by its one loop thread only.

    /// This end's descriptor.
    public let descriptor: Int32
    /// The largest frame accepted: a peer that announces more is cut off.
    public static let maximumFrame = 64 << 20

    private var received: [UInt8] = []
    private var receivedStart = 0
    private var descriptors: [Int32] = []
    private var outgoing: [(bytes: [UInt8], descriptors: [Int32])] = []
    private var outgoingOffset = 0
    private let sending = Mutex<Void>(())
    private var closed = false

    /// Wraps an open descriptor.
    public init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    /// A connected pair: the supervisor's end and the worker's end (both close-on-exec).
    public static func pair() -> (supervisor: ControlChannel, worker: ControlChannel)? {
        var fds: [Int32] = [-1, -1]
        guard ph_control_pair(&fds) == 0 else { return nil }
        return (ControlChannel(descriptor: fds[0]), ControlChannel(descriptor: fds[1]))
    }

    /// One frame's bytes for `message`.
    static func frame(_ message: ControlMessage) -> [UInt8] {
        let body = (try? JSONEncoder().encode(message)).map(Array.init) ?? []
        let length = UInt32(body.count)
        return [UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)] + body
    }

    // MARK: Blocking (a worker's end)

    /// Sends `message` (with `descriptors`, which stay open here), waiting until it is written.
    /// - Returns: False when the other end is gone.
    @discardableResult
    public func send(_ message: ControlMessage, descriptors: [Int32] = []) -> Bool {
        let bytes = Self.frame(message)
        return sending.withLock { _ in
            var offset = 0
            var attached = descriptors
            while offset < bytes.count {
                let sent = bytes.withUnsafeBytes { buffer in
                    ph_control_send(descriptor, buffer.baseAddress! + offset, buffer.count - offset, attached, Int32(attached.count), 0)
                }
                guard sent > 0 else { return false }
                offset += sent
                attached = []
            }
            return true
        }
    }

    /// The next message and the descriptors it claimed, waiting for it; nil when the other end
    /// closed or broke the framing.
    public func receive() -> (message: ControlMessage, descriptors: [Int32])? {
        while true {
            switch nextFrame() {
            case .message(let message, let claimed): return (message, claimed)
            case .broken: return nil
            case .incomplete: break
            }
            guard fill(dontWait: false) > 0 else { return nil }
        }
    }

    // MARK: Non-blocking (the supervisor's end)

    /// Queues `message` and writes what the socket takes now (see ``flush()``).
    public func enqueue(_ message: ControlMessage) {
        guard !closed else { return }
        outgoing.append((Self.frame(message), []))
        _ = flush()
    }

    /// Whether queued bytes wait for the socket to become writable.
    public var hasPending: Bool { !outgoing.isEmpty }

    /// Writes queued frames until the socket would block. False when the other end is gone.
    @discardableResult
    public func flush() -> Bool {
        while let first = outgoing.first {
            let sent = first.bytes.withUnsafeBytes { buffer in
                ph_control_send(descriptor, buffer.baseAddress! + outgoingOffset, buffer.count - outgoingOffset,
                                outgoingOffset == 0 ? first.descriptors : [], outgoingOffset == 0 ? Int32(first.descriptors.count) : 0, 1)
            }
            if sent < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK { return true }
                // The other end is gone: nothing queued will ever go, and nothing half-sent resumes.
                outgoing.removeAll()
                outgoingOffset = 0
                return false
            }
            outgoingOffset += sent
            if outgoingOffset == first.bytes.count {
                outgoing.removeFirst()
                outgoingOffset = 0
            }
        }
        return true
    }

    /// Reads what has arrived without waiting (at most ``readsPerCall`` reads, each followed by
    /// the frames it completed, so a flooding worker neither grows the buffer past one frame's
    /// limit nor holds the supervisor's loop) and returns every complete message.
    /// - Returns: The messages, and false when the other end closed or broke the framing.
    public func receiveAvailable() -> (messages: [(ControlMessage, [Int32])], open: Bool) {
        var messages: [(ControlMessage, [Int32])] = []
        for _ in 0..<Self.readsPerCall {
            let count = fill(dontWait: true)
            var frame = nextFrame()
            while case .message(let message, let claimed) = frame {
                messages.append((message, claimed))
                frame = nextFrame()
            }
            if case .broken = frame { return (messages, false) }
            if count == 0 { return (messages, false) }
            if count < 0 { break }
        }
        return (messages, true)
    }

    /// Reads of 64 KiB one ``receiveAvailable()`` makes at most.
    static let readsPerCall = 16

    /// Closes this end and every descriptor received and not claimed.
    public func close() {
        guard !closed else { return }
        closed = true
        for descriptor in descriptors { _ = Glibc.close(descriptor) }
        descriptors = []
        _ = Glibc.close(descriptor)
    }

    // MARK: Framing

    private enum Frame {
        case message(ControlMessage, [Int32])
        case incomplete
        case broken
    }

    /// Reads once: bytes read, 0 at the end (or an error), -1 when nothing is there yet.
    private func fill(dontWait: Bool) -> Int {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var fds = [Int32](repeating: -1, count: 16)
        var fdCount: Int32 = 0
        let count = chunk.withUnsafeMutableBytes { buffer in
            ph_control_receive(descriptor, buffer.baseAddress, buffer.count, &fds, Int32(fds.count), &fdCount, dontWait ? 1 : 0)
        }
        descriptors += fds.prefix(Int(fdCount))
        // A reset or broken channel is its end; only "nothing yet" is -1.
        if count < 0 && errno != EAGAIN && errno != EWOULDBLOCK { return 0 }
        if count > 0 {
            if receivedStart > 0 && receivedStart * 2 > received.count {
                received.removeFirst(receivedStart)
                receivedStart = 0
            }
            received += chunk.prefix(count)
        }
        return count
    }

    private func nextFrame() -> Frame {
        let available = received.count - receivedStart
        guard available >= 4 else { return .incomplete }
        let length = received[receivedStart..<receivedStart + 4].reduce(0) { $0 << 8 | Int($1) }
        guard length <= Self.maximumFrame else { return .broken }
        guard available >= 4 + length else { return .incomplete }
        let body = received[(receivedStart + 4)..<(receivedStart + 4 + length)]
        receivedStart += 4 + length
        guard let message = try? JSONDecoder().decode(ControlMessage.self, from: Data(body)) else { return .broken }
        var claimed: [Int32] = []
        if case .committed = message, !descriptors.isEmpty { claimed = [descriptors.removeFirst()] }
        return .message(message, claimed)
    }
}
