#if canImport(Glibc)
import Glibc
#endif
import CPluginABI
import CPluginChain
public import PluginRuntime
import Dispatch
import Logging
import Synchronization

/// A request a plugin deferred (ABI 1.2): a step answered `PH_PENDING` and keeps
/// the request, to finish it later from any thread with `http->resume`.
///
/// Exactly once: the first `resume` finishes the request (its response goes to
/// whoever waits, see ``onCompletion(_:)``); a second answers PH_ERR_STATE. When
/// the host gives up first (deadline, client gone, shutdown: ``cancel()``), the
/// request stays valid for the plugin until its `resume`, which answers
/// PH_ERR_CANCELLED so it can free what it holds. A plugin may resume before the
/// walk that deferred has even returned; the response is taken only once both happened.
///
/// A finished request's memory is kept a while longer (see ``Deferrals``), so a
/// mistaken second `resume` soon after finds it and is refused instead of reading freed memory.
public final class Deferral: @unchecked Sendable {
    // @unchecked Sendable: the state is behind a Mutex; the context is touched by the
    // walk (before it returns) and by the finishing thread (after), never both at once.

    private struct State {
        /// What `resume` said, once it did.
        var resumed: (status: ph_status_t, message: String)?
        /// Who waits for the response, once the walk returned.
        var completion: (@Sendable (PluginHTTPResponse) -> Void)?
        var walkReturned = false
        var cancelled = false
        var finished = false
        /// The plugin's `on_cancel` callback.
        var onCancel: CancelCallback?
    }

    private let state = Mutex(State())
    /// The request (kept alive until the plugin resumes).
    let context: RequestContext
    /// The chain request, on the heap (the plugin's handle points at it).
    let storage: UnsafeMutablePointer<ph_chain_request_t>
    /// The endpoint's plugin, for errors.
    public let owner: PluginOwner
    /// Called with the response when the request finishes (the response-sent event); set before the deferral is handed out.
    var onFinish: ((PluginHTTPResponse) -> Void)?
    /// The plugin whose wrapper deferred, when a wrapper did (set before anyone else sees this).
    var deferredBy: PluginOwner?

    init(context: RequestContext, storage: UnsafeMutablePointer<ph_chain_request_t>, owner: PluginOwner) {
        self.context = context
        self.storage = storage
        self.owner = owner
    }

    deinit { storage.deallocate() }

    /// Calls `completion` with the response once the plugin resumed (at once if it did already).
    /// Not called when the host gave up first.
    public func onCompletion(_ completion: @escaping @Sendable (PluginHTTPResponse) -> Void) {
        let resumed = state.withLock { state -> (ph_status_t, String)? in
            state.walkReturned = true
            guard !state.cancelled, !state.finished else { return nil }
            guard let resumed = state.resumed else {
                state.completion = completion
                return nil
            }
            state.finished = true
            return resumed
        }
        if let (status, message) = resumed {
            completion(finish(status: status, message: message))
        }
    }

    /// The host gives up on the request: its waiter is dropped; the plugin's `resume` will answer PH_ERR_CANCELLED.
    public func cancel() {
        state.withLock { state in
            guard !state.finished, !state.cancelled else { return }
            state.cancelled = true
            state.completion = nil
            // Under the lock: the callback cannot race with `resume`, after which it is never called.
            if let onCancel = state.onCancel { onCancel.callback(onCancel.userData) }
            state.onCancel = nil
        }
    }

    /// `http->on_cancel`: the plugin's callback for when the host gives up.
    func setOnCancel(_ callback: @escaping @convention(c) (UnsafeMutableRawPointer?) -> Void, _ userData: UnsafeMutableRawPointer?) -> ph_status_t {
        let registration = CancelCallback(callback: callback, userData: userData)
        return state.withLock { state in
            if state.finished { return PH_ERR_STATE }
            // Gave up before the plugin asked: tell it at once (under the lock, as in cancel()).
            if state.cancelled {
                registration.callback(registration.userData)
                return PH_OK
            }
            state.onCancel = registration
            return PH_OK
        }
    }

    /// `http->resume`: the plugin finishes the request.
    func resume(status: ph_status_t, message: String) -> ph_status_t {
        enum Next { case refuse(ph_status_t), record, complete(@Sendable (PluginHTTPResponse) -> Void) }
        let next = state.withLock { state -> Next in
            if state.finished || state.resumed != nil { return .refuse(PH_ERR_STATE) }
            if state.cancelled {
                state.finished = true
                state.resumed = (status, message)
                return .refuse(PH_ERR_CANCELLED)
            }
            state.resumed = (status, message)
            state.onCancel = nil
            guard state.walkReturned, let completion = state.completion else { return .record }
            state.finished = true
            state.completion = nil
            return .complete(completion)
        }
        switch next {
        case .refuse(let status):
            if status == PH_ERR_CANCELLED { Deferrals.shared.finished(self) }
            return status
        case .record:
            return PH_OK
        case .complete(let completion):
            completion(finish(status: status, message: message))
            return PH_OK
        }
    }

    /// The response, with the plugin's failure turned into a 500 naming it.
    private func finish(status: ph_status_t, message: String) -> PluginHTTPResponse {
        defer { Deferrals.shared.finished(self) }
        if status != PH_OK {
            let owner = deferredBy ?? owner
            owner.countError()
            let text = message.isEmpty ? "status \(status)" : message
            owner.logger.error("\(context.method) \(context.path): deferred request of '\(owner.alias)' failed: \(text)")
            context.fail(status: 500, HostErrorBody("plugin failed", ["plugin": .text(owner.alias), "message": .text(text)]))
        } else if context.typedAnswerPending {
            // A handler-form typed endpoint resumed: its answer is checked now.
            _ = context.route.finishTypedHandler(context)
        }
        let response = context.response
        onFinish?(response)
        return response
    }
}

/// A plugin's `on_cancel` callback and its argument (the plugin's to make thread-safe).
struct CancelCallback: @unchecked Sendable {
    let callback: @convention(c) (UnsafeMutableRawPointer?) -> Void
    let userData: UnsafeMutableRawPointer?
}

/// The deferred requests the host keeps: pending ones (their plugin holds the
/// handle), and the last ``kept`` finished ones (a mistaken second `resume` on
/// one of them is refused; older ones are freed, so memory stays bounded).
final class Deferrals: Sendable {
    static let shared = Deferrals()

    /// How many finished deferred requests stay valid for a mistaken second `resume`.
    static let kept = 1024

    private struct State {
        var pending: [ObjectIdentifier: Deferral] = [:]
        /// A ring of the last finished ones.
        var finished: [Deferral?] = Array(repeating: nil, count: Deferrals.kept)
        var next = 0
    }

    private let state = Mutex(State())

    /// Keeps `deferral` until it finishes.
    func add(_ deferral: Deferral) {
        state.withLock { $0.pending[ObjectIdentifier(deferral)] = deferral }
    }

    /// Moves `deferral` to the finished ones, forgetting the oldest of them.
    func finished(_ deferral: Deferral) {
        let oldest: Deferral? = state.withLock { state in
            state.pending[ObjectIdentifier(deferral)] = nil
            let oldest = state.finished[state.next]
            state.finished[state.next] = deferral
            state.next = (state.next + 1) % Self.kept
            return oldest
        }
        _ = oldest  // released here, outside the lock
    }

    /// Requests deferred and not finished yet.
    var pendingCount: Int { state.withLock { $0.pending.count } }
}

/// One value handed from the thread that makes it to a thread that waits for it.
final class DispatchSemaphoreBox: @unchecked Sendable {
    // @unchecked Sendable: `value` is written before the semaphore is signalled and read after the wait.
    private let ready = DispatchSemaphore(value: 0)
    private var value: PluginHTTPResponse?

    func put(_ value: PluginHTTPResponse) {
        self.value = value
        ready.signal()
    }

    func take() -> PluginHTTPResponse {
        ready.wait()
        return value!
    }
}
