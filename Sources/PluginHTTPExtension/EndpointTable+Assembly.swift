public import CPluginABI
public import PluginRuntime
import Logging

extension EndpointTable {
    /// The route of `registration`: its wrappers (those that accept it, prepared), parsing, the endpoint.
    static func route(for registration: EndpointRegistration, wrappers: [WrapperRegistration], fence: HTTPFence?,
                      warnings: inout [PluginError], guards: inout [String: [String]]) -> Route {
        var pre: [Route.Step] = []
        var post: [Route.Step] = []
        var disabled: String?
        let endpoint = "\(registration.method) \(registration.pattern)"
        EndpointInfo.with(registration) { info in
            for wrapper in wrappers where wrapper.match.matches(method: registration.method, pattern: registration.pattern) {
                let raw = wrapper.raw
                let accepted = wrapper.owner.withLock(.accepts) { raw.accepts.map { $0(raw.user_data, info) } ?? true }
                guards[wrapper.owner.alias, default: []].append((accepted ? "http.wrapped " : "http.declined ") + endpoint)
                guard accepted else { continue }
                var state: UnsafeMutableRawPointer?
                if let prepare = raw.prepare {
                    let (status, message) = wrapper.owner.withLock(.prepare) { MessageBuffer.with { prepare(raw.user_data, info, &state, $0) } }
                    guard status == PH_OK else {
                        let reason = "wrapper '\(wrapper.name)' could not prepare \(registration.method) \(registration.pattern): \(message.isEmpty ? "status \(status)" : message)"
                        wrapper.owner.logger.error("\(reason); the endpoint answers 503")
                        warnings.append(PluginError(.wrapperFailed, file: wrapper.owner.libraryPath, alias: wrapper.owner.alias, reason: reason))
                        disabled = disabled ?? reason
                        continue
                    }
                }
                let step = Route.Step.wrapper(Route.WrapperStep(wrapper, state: state))
                if wrapper.isPre { pre.append(step) } else { post.append(step) }
            }
        }
        return Route(registration: registration, steps: pre + [.parse] + post + [.endpoint], disabled: disabled, fence: fence)
    }
}
