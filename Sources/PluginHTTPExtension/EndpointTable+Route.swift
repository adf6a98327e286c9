public import CPluginABI
public import PluginRuntime
import Logging

extension EndpointTable {
    /// One served method and path.
    final class Route: @unchecked Sendable {
        // @unchecked Sendable: immutable after init.
        enum Step {
            case wrapper(WrapperStep)
            case parse
            case endpoint
        }

        /// One wrapper around this route: what its C chain step is built from. Holding the
        /// registration keeps the owner's PluginLock, whose mutex the C step points at, alive.
        final class WrapperStep: @unchecked Sendable {
            // @unchecked Sendable: immutable after init.
            let registration: WrapperRegistration
            let call: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, OpaquePointer?, UnsafeMutablePointer<ph_message_t>?) -> ph_status_t
            let userData: UnsafeMutableRawPointer?
            let state: UnsafeMutableRawPointer?
            let lock: PluginLock?

            init(_ registration: WrapperRegistration, state: UnsafeMutableRawPointer?) {
                self.registration = registration
                self.call = registration.raw.call!
                self.userData = registration.raw.user_data
                self.state = state
                self.lock = registration.owner.lock
            }
        }

        /// Where a typed parameter's bytes come from, resolved when the table is frozen.
        enum ParameterSource {
            case capture(Int)
            case query([UInt8])
            case header([UInt8])
            case body
            case plugin
        }

        let registration: EndpointRegistration
        let steps: [Step]
        /// Which non-empty path segments the pattern captures, in capture order.
        let capturePositions: [Int]
        /// The capture names' UTF-8, in capture order.
        let captureNames: [[UInt8]]
        /// Each typed parameter with its source, in signature order (empty for a raw endpoint).
        let typedInputs: [(parameter: TypedParameter, source: ParameterSource)]
        /// A typed parameter read from a path segment: the segment's position and the type.
        struct PathInput {
            let position: Int
            let type: ph_type_t
        }
        /// The typed parameters when every one comes from the path (nil otherwise).
        let pathOnlyInputs: [PathInput]?
        /// The typed endpoint (nil for a raw endpoint), kept here so a request
        /// reads it without unpacking the registration.
        let typed: TypedEndpoint?
        /// The same steps as the C chain walk reads them (see ChainSteps).
        let chain: ChainSteps
        /// Why the route answers 503 instead (a wrapper's prepare failed).
        let disabled: String?
        /// The quarantined plugin whose wrapper guarded this route: it answers 503 naming it.
        let fence: HTTPFence?
        /// "METHOD /pattern" as registered (per-endpoint timeouts are keyed so).
        let endpointKey: String
        /// Every plugin on the route declared it never blocks: its work may run inline.
        let runsInline: Bool
        /// A step may answer PH_PENDING: the chain request lives on the heap (see ChainWalk).
        let mayDefer: Bool
        /// Its requests, latencies and wrapper short-circuits, through swift-metrics.
        let metrics: RouteMetrics

        init(registration: EndpointRegistration, steps: [Step], disabled: String?, fence: HTTPFence? = nil) {
            self.registration = registration
            self.steps = steps
            self.chain = ChainSteps(steps)
            self.disabled = disabled
            self.fence = fence
            endpointKey = "\(registration.method) \(registration.pattern)"
            runsInline = registration.owner.build.neverBlocks && steps.allSatisfy {
                if case .wrapper(let step) = $0 { step.registration.owner.build.neverBlocks } else { true }
            }
            // Only a step that declared PH_MAY_DEFER may answer PH_PENDING.
            mayDefer = registration.mayDefer || steps.contains {
                if case .wrapper(let step) = $0 { step.registration.mayDefer } else { false }
            }
            metrics = RouteMetrics(alias: registration.owner.alias, endpoint: endpointKey, wrappers: steps.enumerated().compactMap { index, step in
                if case .wrapper(let wrapper) = step { (index, wrapper.registration.owner.alias, wrapper.registration.name) } else { nil }
            })
            let segments = registration.pattern.segments
            capturePositions = segments.indices.filter { if case .capture = segments[$0] { true } else { false } }
            captureNames = registration.pattern.captureNames.map { Array($0.utf8) }
            if let endpoint = registration.typed {
                let names = registration.pattern.captureNames
                typed = endpoint
                typedInputs = endpoint.parameters.map { parameter in
                    switch parameter.source {
                    case ph_source_t(PH_SOURCE_PATH): (parameter, .capture(names.firstIndex(of: parameter.name) ?? -1))
                    case ph_source_t(PH_SOURCE_QUERY): (parameter, .query(Array(parameter.name.utf8)))
                    case ph_source_t(PH_SOURCE_HEADER): (parameter, .header(Array(parameter.name.utf8)))
                    case ph_source_t(PH_SOURCE_BODY): (parameter, .body)
                    default: (parameter, .plugin)
                    }
                }
            } else {
                typed = nil
                typedInputs = []
            }
            let positions = capturePositions
            let pathInputs = typedInputs.compactMap { input -> PathInput? in
                guard case .capture(let index) = input.source, positions.indices.contains(index) else { return nil }
                return PathInput(position: positions[index], type: input.parameter.type)
            }
            pathOnlyInputs = typed != nil && pathInputs.count == typedInputs.count ? pathInputs : nil
        }

        var wrapperNames: [String] {
            steps.compactMap { if case .wrapper(let step) = $0 { "\(step.registration.owner.alias)/\(step.registration.name)" } else { nil } }
        }

        /// The `.parse` step, called from the C chain walk: parses the typed parameters (none for a raw endpoint).
        func parseStep(_ context: RequestContext) -> ph_status_t {
            if typed != nil {
                guard let values = parseTyped(context) else { return PH_ERR_INVALID }
                context.parameters = values
            } else {
                context.parameters = []
            }
            return PH_OK
        }

        /// The `.endpoint` step, called from the C chain walk; `handle` is the request plugins see.
        func endpointStep(_ context: RequestContext, handle: OpaquePointer) -> ph_status_t {
            let owner = registration.owner
            switch registration.kind {
            case .raw(let handler, let userData):
                return callHandler(handler, userData, context, handle: handle)
            case .typed(let endpoint):
                switch endpoint.call {
                case .function(let invoker):
                    let result = CallRecord.untimed(.endpoint, owner.build.record) { owner.lock.withLock { invoker.invoke(context.parameters!) } }
                    if IsolatedCallFailure.isPending {
                        pluginFailed(context, owner, what: "endpoint", status: PH_ERR_FAILED, message: "")
                        return PH_ERR_FAILED
                    }
                    return answerTyped(endpoint, result, context)
                case .handler(let handler, let userData):
                    let status = callHandler(handler, userData, context, handle: handle)
                    if status == PH_PENDING { context.typedAnswerPending = true }
                    return status == PH_OK ? finishTypedHandler(context) : status
                }
            }
        }

        /// Calls a raw-shaped handler; a failure answers 500 naming the plugin.
        private func callHandler(_ handler: ph_handler_fn, _ userData: UnsafeMutableRawPointer?, _ context: RequestContext,
                                 handle: OpaquePointer) -> ph_status_t {
            let owner = registration.owner
            let (status, message) = CallRecord.untimed(.endpoint, owner.build.record) {
                owner.lock.withLock { MessageBuffer.with { handler(userData, handle, $0) } }
            }
            if status != PH_OK && status != PH_PENDING {
                pluginFailed(context, owner, what: "endpoint", status: status, message: message)
            }
            return status
        }

        /// Wrapper step `index` returned `status` (not PH_OK) with `message`, called from the C chain
        /// walk as soon as the wrapper returns, so the wrappers around it see the 500.
        ///
        /// A failure is reported unless the wrapper only passed on an error already answered:
        /// no message of its own and a response status that is already an error.
        func wrapperFailed(_ context: RequestContext, step index: Int, status: ph_status_t, message: String) {
            guard case .wrapper(let step) = steps[index], !message.isEmpty || context.status < 400 else { return }
            let wrapper = step.registration
            pluginFailed(context, wrapper.owner, what: "wrapper '\(wrapper.name)'", status: status, message: message)
        }

        func pluginFailed(_ context: RequestContext, _ owner: PluginOwner, what: String, status: ph_status_t, message: String) {
            let alias = owner.alias
            owner.countError()
            if let failure = IsolatedCallFailure.take() {
                registration.owner.logger.error("\(registration.method) \(context.path): \(what) of '\(alias)': \(failure.message); answered \(failure.status)")
                context.fail(status: UInt32(failure.status), HostErrorBody(failure.status == 504 ? "plugin timed out" : "plugin unavailable",
                                                                   ["plugin": .text(alias), "message": .text(failure.message)]))
                return
            }
            let text = message.isEmpty ? "status \(status)" : message
            registration.owner.logger.error("\(registration.method) \(context.path): \(what) of '\(alias)' failed: \(text)")
            context.fail(status: 500, HostErrorBody("plugin failed", ["plugin": .text(alias), "message": .text(text)]))
        }

    }
}
