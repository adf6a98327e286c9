// Validator fixture `asyncleftover` (alias async-leftover), a Swift plugin. Breaks ONE rule:
// nothing of an instance may run after its destroy returned. Its async endpoint GET /leftover/poll
// (http.asyncEndpoint: PH_MAY_DEFER, resumed once by the SDK's task, cancellation honoured) starts,
// the first time it is called, a detached task that polls for ever, and nothing cancels or awaits
// it: after destroy the task still runs the plugin's code. Each poll step is a blocking 20 ms wait
// (as a synchronous client library's call would be) and the task yields between steps, so it
// keeps a pool thread nearly all the time without starving the SDK's other tasks.
//
// Must fail:  async   reason "still runs the plugin's code after destroy", naming GET /leftover/poll
//                     and the pool thread the task runs on, in the task closure of Poller.startOnce().
// Every other test passes: stray-threads and late-calls do not call endpoints, and the endpoints
// test does not watch threads (each request is answered and resumed once).
import PluginSDK
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

final class AsyncLeftover: Plugin, @unchecked Sendable {
    // @unchecked Sendable: no stored state.
    static let info = PluginInfo(id: "test.validate.asyncleftover", version: "1.0.0",
                                 description: "validator fixture: an async endpoint leaves a task running", isThreadSafe: true)

    init(host: PluginHost) throws {
        guard let http = host.http else { return }
        try http.asyncEndpoint("GET", "/leftover/poll") { exchange in
            Poller.startOnce()
            exchange.setBody("polling")
        }
    }
}

/// The poller the endpoint starts, once per process.
enum Poller {
    private static let started = Atomic<Bool>(false)

    /// Starts the poller the first time. THE BUG: a detached task nothing cancels or awaits.
    static func startOnce() {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        Task.detached {
            while true {
                step()
                await Task.yield()
            }
        }
    }

    /// One poll: a blocking 20 ms wait on the task's thread.
    @inline(never)
    static func step() {
        _ = usleep(20_000)
    }
}

@_cdecl("asyncleftover_entry")
public func asyncLeftoverEntry(_ major: UInt32, _ minor: UInt32) -> UnsafeRawPointer? {
    exportPlugin(AsyncLeftover.self, hostABIMajor: major)
}
