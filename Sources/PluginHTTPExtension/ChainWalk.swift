#if canImport(Glibc)
import Glibc
#endif
import CPluginABI
import CPluginChain
import CCallRecord
import Logging
import PluginRuntime

/// A route's steps as the C chain walk reads them: one flat malloc'd array of
/// `ph_chain_step_t`, built when the table is frozen and freed with the route.
final class ChainSteps: @unchecked Sendable {
    // @unchecked Sendable: written only in init, then read by request threads;
    // freed in deinit, when the route's table is gone and no request can use it.

    /// The first step; `count` of them.
    let base: UnsafeMutablePointer<ph_chain_step_t>
    /// Number of steps: wrappers, parsing, the endpoint.
    let count: Int

    init(_ steps: [EndpointTable.Route.Step]) {
        count = steps.count
        // malloc, not Swift allocation: plain C memory the walk reads with no Swift metadata around it.
        let capacity = max(steps.count, 1)
        base = malloc(capacity * MemoryLayout<ph_chain_step_t>.stride)!.bindMemory(to: ph_chain_step_t.self, capacity: capacity)
        for (index, step) in steps.enumerated() {
            var entry = ph_chain_step_t()
            switch step {
            case .wrapper(let wrapper):
                entry.kind = ph_chain_kind_t(PH_CHAIN_WRAPPER)
                entry.call = wrapper.call
                entry.user_data = wrapper.userData
                entry.state = wrapper.state
                entry.lock = wrapper.lock?.mutex
                entry.what = ph_call_what(PH_CALL_WRAPPER, wrapper.registration.owner.build.record)
            case .parse:
                entry.kind = ph_chain_kind_t(PH_CHAIN_PARSE)
            case .endpoint:
                entry.kind = ph_chain_kind_t(PH_CHAIN_ENDPOINT)
            }
            (base + index).initialize(to: entry)
        }
    }

    deinit { free(base) }
}

/// Runs requests through their route's chain. The walk itself is C
/// (`ph_chain_serve`, and `ph_chain_call_next` behind `http->call_next`), so a
/// wrapper costs about one C call; these callbacks are the only ways back into
/// Swift: parsing, the endpoint, and a wrapper's failure.
enum ChainWalk {
    /// The host callbacks every chain request points at (static C memory).
    nonisolated(unsafe) static let host: UnsafeMutablePointer<ph_chain_host_t> = {
        // nonisolated(unsafe): written once at first use, read-only afterwards.
        let host = UnsafeMutablePointer<ph_chain_host_t>.allocate(capacity: 1)
        host.initialize(to: ph_chain_host_t(
            // Guaranteed references: the walk's caller keeps the context alive, so
            // these steps neither retain nor release it.
            parse: { request in
                RequestContext.withGuaranteed(OpaquePointer(request!)) { $0.route.parseStep($0) }
            },
            endpoint: { request in
                RequestContext.withGuaranteed(OpaquePointer(request!)) { $0.route.endpointStep($0, handle: OpaquePointer(request!)) }
            },
            wrapper_failed: { request, step, status, message in
                let context = RequestContext.from(OpaquePointer(request!))
                context.route.wrapperFailed(context, step: step, status: status, message: message.map { String(cString: $0) } ?? "")
            }))
        return host
    }()

    /// Runs `context`'s request through its route's chain; the response is left in `context`,
    /// unless a step deferred it: then the returned ``Deferral`` finishes it.
    static func run(_ context: RequestContext) -> Deferral? {
        let route = context.route
        let steps = route.chain
        guard route.mayDefer else {
            // The C request (ph_chain_serve's stack) holds the context unretained:
            // keep it alive until the walk returns.
            var reached = 0
            let status = withExtendedLifetime(context) {
                ph_chain_serve(Unmanaged.passUnretained(context).toOpaque(), steps.base, steps.count, host, &reached)
            }
            if status == PH_PENDING { undeclaredDeferral(context) }
            // One compare per request; a wrapper that answered itself was the last step entered.
            if reached < steps.count { route.metrics.countStop(atStep: reached - 1) }
            return nil
        }
        // A step may defer: the chain request (the plugin's handle) must outlive this call.
        let storage = UnsafeMutablePointer<ph_chain_request_t>.allocate(capacity: 1)
        let deferral = Deferral(context: context, storage: storage, owner: route.registration.owner)
        context.deferral = deferral
        withExtendedLifetime(context) {
            _ = ph_chain_serve_in(storage, Unmanaged.passUnretained(context).toOpaque(), steps.base, steps.count, host)
        }
        guard storage.pointee.pending != 0 else {
            context.deferral = nil
            return nil
        }
        if storage.pointee.deferred_frame >= 0, case .wrapper(let step) = route.steps[storage.pointee.deferred_frame] {
            deferral.deferredBy = step.registration.owner
        }
        Deferrals.shared.add(deferral)
        return deferral
    }

    /// A step answered PH_PENDING without declaring PH_MAY_DEFER: its request lived on the
    /// walk's stack and is gone; the client gets a 500 naming the plugin.
    private static func undeclaredDeferral(_ context: RequestContext) {
        let owner = context.route.registration.owner
        owner.countError()
        owner.logger.error("\(context.method) \(context.path): a step answered PH_PENDING without declaring PH_MAY_DEFER (ph_endpoint_t/ph_wrapper_t flags); answered 500")
        context.fail(status: 500, HostErrorBody("plugin failed", ["plugin": .text(owner.alias),
                                                                   "message": "answered PH_PENDING without declaring PH_MAY_DEFER"]))
    }
}
