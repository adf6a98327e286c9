#if canImport(Glibc)
import Glibc
#endif

extension Duration {
    /// The duration in whole milliseconds (truncated).
    package var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }

    /// The duration in whole microseconds (truncated).
    package var wholeMicroseconds: Int64 {
        components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000
    }
}

/// The wall clock reload reports are stamped with.
public enum WallClock {
    /// Nanoseconds since the Unix epoch (`CLOCK_REALTIME`), as in ``ReloadReport/startedAt``.
    public static func nanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}
