import CCorePlacement
import Foundation

/// The host under test on the first half of this process's cores and its load
/// generators (wrk) on the other half, so that a figure measures the host and
/// not the competition between it and the processes that load it. On a machine
/// of two cores: the host on one, wrk on the other.
struct CorePlacement {
    /// Cores for the host (every thread of this process while pinned).
    let host: [Int]
    /// Cores for the load generators.
    let load: [Int]

    /// The split of this process's cores; nil on a single core (nothing to split).
    static func split() -> CorePlacement? {
        var cores = [Int32](repeating: 0, count: 1024)
        let count = Int(core_placement_allowed(&cores, Int32(cores.count)))
        guard count >= 2 else { return nil }
        let all = cores.prefix(min(count, cores.count)).map(Int.init)
        let hostCount = (all.count + 1) / 2
        return CorePlacement(host: Array(all.prefix(hostCount)), load: Array(all.dropFirst(hostCount)))
    }

    /// Runs `body` with every thread of this process on the host's cores; afterwards every
    /// thread may use all of them again.
    func withHostPinned<T>(_ body: () async throws -> T) async throws -> T {
        try Self.pin(host)
        defer { try? Self.pin(host + load) }
        return try await body()
    }

    /// Runs `body` with every thread of this process and of the processes `others` (isolated
    /// plugins' processes) on the host's first core; afterwards all of them may use every core again.
    func withOneCore<T>(others: [Int32], _ body: () throws -> T) throws -> T {
        try Self.pin(Array(host.prefix(1)))
        for pid in others { try Self.pin(Array(host.prefix(1)), pid: pid) }
        defer {
            try? Self.pin(host + load)
            for pid in others { try? Self.pin(host + load, pid: pid) }
        }
        return try body()
    }

    /// The `taskset` arguments that run a command on the load generators' cores.
    var loadArguments: [String] { ["-c", load.map(String.init).joined(separator: ",")] }

    private static func pin(_ cores: [Int], pid: Int32 = 0) throws {
        let list = cores.map(Int32.init)
        if core_placement_pin_pid(pid, list, Int32(list.count)) < 0 {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EINVAL)
        }
    }
}
