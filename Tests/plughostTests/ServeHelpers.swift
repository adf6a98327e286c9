import Foundation
import PluginTestSupport
import Synchronization

/// Installs fixture `fixture` at `target` in the folder by rename, as `plugin.mk` does.
func install(_ folder: PluginFolder, _ fixture: String, as target: String) {
    let path = folder.path + "/" + target
    try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try? FileManager.default.removeItem(atPath: path + ".new")
    try! FileManager.default.copyItem(atPath: Fixtures.library(fixture), toPath: path + ".new")
    precondition(rename(path + ".new", path) == 0)
}

/// A client asking for `path` in a loop on its own thread, one request at a time,
/// counting how requests ended; a reply counts as served when its body is one of `accepted` (any, when empty).
final class ClientLoop: @unchecked Sendable {
    // @unchecked Sendable: the counters are Mutex-guarded; `running` is an Atomic.
    private let running = Atomic<Bool>(true)
    private let tally = Mutex<(served: Int, refused: Int, failed: Int, bodies: [String: Int])>((0, 0, 0, [:]))
    private let done = DispatchSemaphore(value: 0)

    init(port: Int, path: String = "/version", accepted: Set<String> = []) {
        Thread {
            while self.running.load(ordering: .relaxed) {
                let (outcome, body) = ClientLoop.request(port: port, path: path, accepted: accepted)
                self.tally.withLock { counts in
                    switch outcome {
                    case .served: counts.served += 1
                    case .refused: counts.refused += 1
                    case .failed: counts.failed += 1
                    }
                    if let body { counts.bodies[body, default: 0] += 1 }
                }
            }
            self.done.signal()
        }.start()
    }

    /// Stops the loop; the counts of served, refused (connection refused) and otherwise failed requests.
    func stop() -> (served: Int, refused: Int, failed: Int) {
        running.store(false, ordering: .relaxed)
        done.wait()
        return tally.withLock { ($0.served, $0.refused, $0.failed) }
    }

    /// The bodies of the 200 answers so far, with their counts.
    var bodies: [String: Int] { tally.withLock { $0.bodies } }

    private enum Outcome { case served, refused, failed }

    private static func request(port: Int, path: String, accepted: Set<String>) -> (Outcome, String?) {
        let fd: Int32
        do {
            fd = try RawHTTP.connect(port: port)
        } catch {
            return ((error as? POSIXError)?.code == .ECONNREFUSED ? .refused : .failed, nil)
        }
        defer { close(fd) }
        guard let reply = try? RawHTTP.exchange(fd: fd, "GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") else { return (.failed, nil) }
        let body = reply.range(of: "\r\n\r\n").map { String(reply[$0.upperBound...]) } ?? ""
        let ok = reply.hasPrefix("HTTP/1.1 200") && (accepted.isEmpty || accepted.contains(body))
        if !ok { FileHandle.standardError.write(Data("client loop: failed reply: \(reply.isEmpty ? "(connection closed without a reply)" : reply)\n".utf8)) }
        return (ok ? .served : .failed, reply.hasPrefix("HTTP/1.1 200") ? body : nil)
    }
}

/// What the tests of `plughost serve` share.
enum ServeHelpers {
    /// Whether this test process runs under a sanitizer.
    static let sanitized = dlsym(nil, "__asan_init") != nil || dlsym(nil, "__tsan_init") != nil

    /// The pids of workers that logged "serving HTTP", in order.
    static func workerPids(_ log: String) -> [Int32] {
        log.split(separator: "\n").compactMap { line in
            guard let range = line.range(of: "worker "), line.contains("serving HTTP") else { return nil }
            return Int32(line[range.upperBound...].prefix { $0.isNumber })
        }
    }

    /// VmRSS of `pid` in KiB.
    static func residentKiB(_ pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return nil }
        return Int(line.split(separator: " ").dropFirst().first ?? "")
    }

    /// Waits until `server` has `count` serving workers in its supervisor's view.
    static func waitForWorkers(_ server: ServeProcess, _ count: Int) {
        wait(20) { server.get("/_plughost/plugins").body.components(separatedBy: #""serving":true"#).count == count + 1 }
    }

    /// Waits up to `seconds` for `condition`.
    @discardableResult
    static func wait(_ seconds: Double = 10, for condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }
}
