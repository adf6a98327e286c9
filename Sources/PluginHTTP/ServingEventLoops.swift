import CProcessControl
public import NIOPosix

/// The event loops that serve connections: one per core this process may run on.
///
/// NIO's shared group has one loop per core of the machine, whatever the
/// process's CPU affinity: a server pinned to one core of two (`taskset -c 0`)
/// would run two loops that take turns on that core, each stalling the other's
/// connections for a scheduler time slice (measured: p99 latency 5.6 ms against
/// 0.6 ms at p50). One loop per usable core keeps every loop on a core of its own.
public enum ServingEventLoops {
    /// The process's serving group, started on first use and never shut down.
    public static let shared = MultiThreadedEventLoopGroup(numberOfThreads: Int(ph_usable_cores()))
}
