public import PluginRuntime
import Logging

extension EndpointTable {
    /// The host's own answer for a request `match` leads to no serving route.
    func answer(_ request: PluginHTTPRequest, _ match: Router<Route>.Match) -> PluginHTTPResponse {
        switch match {
        case .notFound:
            if case .found(let fence) = fencedRouter.match(method: request.method, path: request.path) { return fence.response }
            return .hostError(404, "not found", ["method": .text(request.method), "path": .text(request.path)])
        case .methodNotAllowed(let allowed):
            if case .found(let fence) = fencedRouter.match(method: request.method, path: request.path) { return fence.response }
            var response = PluginHTTPResponse.hostError(405, "method not allowed", ["allowed": .texts(allowed)])
            response.headers.append(("Allow", allowed.joined(separator: ", ")))
            return response
        case .found(let route):
            // Only a fenced or disabled route gets here (see resolve).
            if let fence = route.fence { return fence.response }
            return .hostError(503, "endpoint unavailable", ["reason": .text(route.disabled ?? "")])
        }
    }
}
