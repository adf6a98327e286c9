import Dispatch
import Synchronization
@testable import PluginRuntime
import Testing

@Suite("ReloadScheduler")
struct ReloadSchedulerTests {
    /// Counts reloads; the first one waits at a gate until the test opens it.
    private final class GatedReloads: Sendable {
        let count = Atomic<Int>(0)
        let reached = DispatchSemaphore(value: 0)
        let gate = DispatchSemaphore(value: 0)

        func perform() -> ReloadReport {
            if count.add(1, ordering: .sequentiallyConsistent).newValue == 1 {
                reached.signal()
                gate.wait()
            }
            return ReloadReport(succeeded: true, generation: count.load(ordering: .sequentiallyConsistent), startedAt: 0)
        }
    }

    @Test("requests that arrive while a reload runs coalesce into exactly one more, and every waiting caller gets its report")
    func coalesces() async throws {
        let reloads = GatedReloads()
        let scheduler = ReloadScheduler(runtime: PluginRuntime(pluginsDirectory: "/nonexistent"), onReload: { _ in },
                                        performing: { reloads.perform() })
        scheduler.requestReload()
        reloads.reached.wait()  // the first reload is running and held
        for _ in 0..<50 { scheduler.requestReload() }
        async let first = scheduler.reload()
        async let second = scheduler.reload()
        // Both callers are queued once the scheduler has seen them; only then open the gate.
        while scheduler.waitingCallers < 2 { try await Task.sleep(for: .milliseconds(1)) }
        reloads.gate.signal()
        let reports = await [first, second]
        #expect(reports.map(\.generation) == [2, 2], "each caller gets the report of the reload that began after its call")
        #expect(reloads.count.load(ordering: .sequentiallyConsistent) == 2, "one held reload plus one for 52 requests")
    }
}
