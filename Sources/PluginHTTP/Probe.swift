#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PluginRuntime
import PluginHTTPExtension

/// The probe endpoints an orchestrator asks every second or so: small answers,
/// no plugin code run.
///
/// - `GET /_plughost/health`: 200 while the process serves (liveness).
/// - `GET /_plughost/ready`: 200 once the plugins started and every enabled alias
///   runs (or is quarantined, as the crash journal decided); 503 while starting,
///   while shutting down, or with an alias that failed (readiness).
enum Probe {
    case health
    case ready

    /// The probe at `path`, or nil for another admin path.
    init?(path: String) {
        switch path {
        case "/_plughost/health": self = .health
        case "/_plughost/ready": self = .ready
        default: return nil
        }
    }

    /// The body of a readiness answer.
    struct Readiness: Encodable {
        var ready: Bool
        var phase: String
        var generation: Int
        /// Enabled aliases that neither run nor are quarantined, with why.
        var notRunning: [String: String]

        private enum CodingKeys: String, CodingKey {
            case ready, phase, generation
            case notRunning = "not_running"
        }
    }

    func answer(runtime: PluginRuntime, readiness: HostReadiness?) -> PluginHTTPResponse {
        let generation = runtime.generation
        let phase = readiness?.current ?? (generation == nil ? .starting : .serving)
        switch self {
        case .health:
            return .json(200, #"{"status":"alive","phase":"\#(phase.name)"}"#)
        case .ready:
            var notRunning: [String: String] = [:]
            if phase == .serving {
                for status in runtime.statuses where status.alias != nil && status.state == .failed {
                    notRunning[status.alias!] = status.error?.reason ?? "failed"
                }
            }
            let body = Readiness(ready: phase == .serving && notRunning.isEmpty, phase: phase.name,
                                 generation: generation?.number ?? 0, notRunning: notRunning)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let json = (try? encoder.encode(body)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            return .json(body.ready ? 200 : 503, json)
        }
    }
}
