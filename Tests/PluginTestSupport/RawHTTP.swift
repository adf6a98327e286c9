import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Sends raw bytes to a loopback port and reads until the server closes (or 10 s pass: generous, for a loaded CI machine).
public enum RawHTTP {
    /// An IPv4 address of this machine that is not loopback, if it has one.
    public static func nonLoopbackAddress() -> String? {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return nil }
        defer { freeifaddrs(list) }
        var entry = list
        while let current = entry {
            defer { entry = current.pointee.ifa_next }
            guard let address = current.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET) else { continue }
            let ip = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { String(cString: inet_ntoa($0.pointee.sin_addr)) }
            if !ip.hasPrefix("127.") { return ip }
        }
        return nil
    }

    /// ``send(_:port:host:)`` on a thread of its own: from async code (a test next to an
    /// in-process server) a blocking read must not hold one of the few threads the
    /// server's own async responders need, or both wait out the timeout.
    public static func sendAsync(_ text: String, port: Int, host: String = "127.0.0.1") async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try send(text, port: port, host: host) }) }.start()
        }
    }

    /// Sends `text` and reads the reply until the server closes (blocking: see ``sendAsync(_:port:host:)``).
    public static func send(_ text: String, port: Int, host: String = "127.0.0.1", timeout: Int = 10) throws -> String {
        try send(bytes: Array(text.utf8), port: port, host: host, timeout: timeout)
    }

    /// Sends exactly `bytes` (which need not be UTF-8) and reads the reply until the server closes.
    public static func send(bytes: [UInt8], port: Int, host: String = "127.0.0.1", timeout: Int = 10) throws -> String {
        let fd = try connect(port: port, host: host)
        defer { close(fd) }
        return try exchange(fd: fd, bytes: bytes, timeout: timeout)
    }

    /// A TCP connection to `host`:`port`; the caller closes it. Throws the `connect` error
    /// (`ECONNREFUSED` when nothing listens).
    public static func connect(port: Int, host: String = "127.0.0.1") throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr(host)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let code = POSIXErrorCode(rawValue: errno) ?? .EIO
            close(fd)
            throw POSIXError(code)
        }
        return fd
    }

    /// Sends `text` on the connected socket `fd` and reads the reply until the server closes (or 10 s pass).
    public static func exchange(fd: Int32, _ text: String) throws -> String {
        try exchange(fd: fd, bytes: Array(text.utf8))
    }

    private static func exchange(fd: Int32, bytes: [UInt8], timeout seconds: Int = 10) throws -> String {
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        return try readToEnd(fd: fd, timeout: seconds)
    }

    /// Reads the connected socket `fd` until the server closes (or `seconds` pass without a byte).
    public static func readToEnd(fd: Int32, timeout seconds: Int = 10) throws -> String {
        readUntilClosed(fd: fd, timeout: seconds).text
    }

    /// What ``readToEnd(fd:timeout:)`` reads, and whether the read ended because the server
    /// closed the connection (false: `seconds` passed without a byte, or the read failed).
    public static func readUntilClosed(fd: Int32, timeout seconds: Int = 10) -> (text: String, closed: Bool) {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                received += chunk[0..<count]
                continue
            }
            return (String(decoding: received, as: UTF8.self), count == 0)
        }
    }
}
