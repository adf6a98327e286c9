#if canImport(Glibc)
import Glibc
#endif
import CIsolation

/// Where a plugin runs, and for an isolated one its plugin process as it is now.
public struct IsolationStatus: Sendable, Codable, Equatable {
    /// Equal when what is reported is (the proxy handle behind it does not count).
    public static func == (lhs: IsolationStatus, rhs: IsolationStatus) -> Bool {
        lhs.mode == rhs.mode && lhs.pid == rhs.pid && lhs.residentBytes == rhs.residentBytes && lhs.restarts == rhs.restarts
    }

    /// "in-process" or "process" (`[isolation.ALIAS] mode`).
    public var mode: String
    /// The plugin process's pid; nil in-process, or while no plugin process runs (between a death and its restart, or quarantined).
    public var pid: Int32?
    /// The plugin process's resident memory in bytes (from /proc), when it runs.
    public var residentBytes: Int?
    /// How many times its plugin process was restarted after a death or a hang.
    public var restarts: Int?

    /// The proxy, to read the live fields from (its memory is never freed); 0 in-process.
    var handle: UInt = 0

    private enum CodingKeys: String, CodingKey { case mode, pid, residentBytes = "resident_bytes", restarts }

    /// A status as reported (a worker's listing read back, say).
    public init(mode: String, pid: Int32? = nil, residentBytes: Int? = nil, restarts: Int? = nil) {
        self.mode = mode
        self.pid = pid
        self.residentBytes = residentBytes
        self.restarts = restarts
    }

    /// What `status` says, else the mode `[isolation.ALIAS]` in `config` gives its alias (a
    /// plugin that does not run now); nil for a file that yielded no alias.
    public static func listed(_ status: PluginStatus, config: HostConfig) -> IsolationStatus? {
        if let isolation = status.isolation { return isolation }
        return status.alias.map { IsolationStatus(mode: config.isolation(of: $0).mode.rawValue) }
    }

    /// In the host's own process.
    static let inProcess = IsolationStatus(mode: IsolationSettings.Mode.inProcess.rawValue)

    /// The status of `library`'s plugin process as it is now (in-process for a library loaded here).
    static func of(_ library: PluginLibrary) -> IsolationStatus {
        guard let isolated = library.isolated else { return .inProcess }
        var status = IsolationStatus(mode: IsolationSettings.Mode.process.rawValue)
        status.handle = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(isolated)))
        return status.refreshed()
    }

    /// The live fields read again.
    func refreshed() -> IsolationStatus {
        guard handle != 0, let pointer = UnsafeRawPointer(bitPattern: handle) else { return self }
        let isolated = OpaquePointer(pointer)
        var status = self
        let pid = ph_isolated_pid(isolated)
        status.pid = pid > 0 ? pid : nil
        status.restarts = Int(ph_isolated_restarts(isolated))
        status.residentBytes = pid > 0 ? Self.residentBytes(of: pid) : nil
        return status
    }

    /// Resident memory of `pid` from /proc/PID/statm (pages), nil when unreadable.
    static func residentBytes(of pid: Int32) -> Int? {
        guard let bytes = try? FileSystem.readFile("/proc/\(pid)/statm") else { return nil }
        let fields = String(decoding: bytes, as: UTF8.self).split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
