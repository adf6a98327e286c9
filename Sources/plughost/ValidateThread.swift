import Foundation

/// Runs a validation test on a thread of its own. `plughost` runs its commands on the Swift
/// concurrency pool, whose few threads (one per core) are also the ones a Swift plugin's async
/// endpoints run their tasks on; a test that waits for those tasks (the `async` and `endpoints`
/// tests wait for their `resume`) must not hold one of them while it waits.
enum ValidateThread {
    /// Runs `work` on a new thread and answers its result, holding no pool thread meanwhile.
    static func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: work()) }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }
}
