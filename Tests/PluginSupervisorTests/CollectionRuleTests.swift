import Foundation
import PluginRuntime
@testable import PluginSupervisor
import Testing

@Suite("Supervisor rules: the whole host's figures")
struct CollectionRuleTests {
    private func metrics(requests: Int, generation: Int) -> String {
        """
        # TYPE plughost_http_requests_total counter
        plughost_http_requests_total{method="GET",route="/version",status="2xx"} \(requests)
        # TYPE plughost_generation gauge
        plughost_generation \(generation)
        # TYPE plughost_retained_swift_images gauge
        plughost_retained_swift_images 2
        # TYPE plughost_http_request_duration_seconds histogram
        plughost_http_request_duration_seconds_bucket{route="/version",le="0.005"} \(requests)
        plughost_http_request_duration_seconds_bucket{route="/version",le="+Inf"} \(requests)
        plughost_http_request_duration_seconds_sum{route="/version"} 0.5
        plughost_http_request_duration_seconds_count{route="/version"} \(requests)

        """
    }

    private func hostAnswer(_ actions: [SupervisorStateMachine.Action]) -> HostSnapshot? {
        StateMachineHarness.sent(actions).compactMap { if case .host(_, let snapshot) = $0.0 { snapshot } else { nil } }.first
    }

    private func value(_ text: String, _ series: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) }
    }

    /// Asks from worker 0 and has every worker answer with `requests[pid]`.
    private func ask(_ harness: inout StateMachineHarness, requests: [Int32: Int]) -> HostSnapshot? {
        let asked = harness.handle(.message(.askHost(request: 7), from: harness.pid(0), at: harness.now))
        var answer: HostSnapshot?
        for (message, pid) in StateMachineHarness.sent(asked) {
            guard case .collect(let id) = message else { continue }
            let snapshot = WorkerSnapshot(pid: pid, metrics: metrics(requests: requests[pid] ?? 0, generation: 3), listing: "{}")
            answer = hostAnswer(harness.handle(.message(.snapshot(request: id, snapshot), from: pid, at: harness.now))) ?? answer
        }
        return answer
    }

    @Test("counters and histograms are summed over the workers, gauges labelled by worker or summed as their meaning says")
    func merge() throws {
        var harness = StateMachineHarness(workers: 3)
        harness.startServing()
        let pids = harness.machine.workerPIDs
        let host = try #require(ask(&harness, requests: [pids[0]: 70, pids[1]: 60, pids[2]: 70]))
        let requests = #"plughost_http_requests_total{method="GET",route="/version",status="2xx"}"#
        #expect(value(host.metrics, requests) == 200)
        #expect(value(host.metrics, #"plughost_http_request_duration_seconds_count{route="/version"}"#) == 200)
        #expect(value(host.metrics, #"plughost_http_request_duration_seconds_sum{route="/version"}"#) == 1.5)
        #expect(value(host.metrics, "plughost_retained_swift_images") == 6)
        for pid in pids { #expect(value(host.metrics, "plughost_generation{worker=\"\(pid)\"}") == 3) }
        #expect(host.metrics.components(separatedBy: "# TYPE plughost_http_requests_total counter").count == 2, "one TYPE line per family")
        #expect(value(host.metrics, "plughost_workers") == 3)
    }

    @Test("what a dead worker had counted stays in the totals: no scrape reads less after a death")
    func deadWorkersKeepTheirCounts() throws {
        var harness = StateMachineHarness(workers: 2)
        harness.startServing()
        let requests = #"plughost_http_requests_total{method="GET",route="/version",status="2xx"}"#
        let before = try #require(ask(&harness, requests: [harness.pid(0): 50, harness.pid(1): 40]))
        #expect(value(before.metrics, requests) == 90)
        // Worker 1 is killed; its replacement starts from zero.
        harness.handle(.exited(pid: harness.pid(1), .signaled(9), evidence: .none, journal: [], at: harness.now))
        harness.advance(.milliseconds(200))
        harness.handle(.message(.serving, from: harness.pid(1), at: harness.now))
        let after = try #require(ask(&harness, requests: [harness.pid(0): 55, harness.pid(1): 3]))
        #expect(value(after.metrics, requests) == 98)
    }

    @Test("a worker that does not answer in time counts with its last figures, and is named missing")
    func slowWorker() throws {
        var harness = StateMachineHarness(workers: 2)
        harness.startServing()
        _ = try #require(ask(&harness, requests: [harness.pid(0): 10, harness.pid(1): 20]))
        let asked = harness.handle(.message(.askHost(request: 8), from: harness.pid(0), at: harness.now))
        for (message, pid) in StateMachineHarness.sent(asked) where pid == harness.pid(0) {
            if case .collect(let id) = message {
                harness.handle(.message(.snapshot(request: id, WorkerSnapshot(pid: pid, metrics: metrics(requests: 11, generation: 3), listing: "{}")),
                                        from: pid, at: harness.now))
            }
        }
        harness.now = harness.now + .seconds(3)
        let late = hostAnswer(harness.handle(.tick(at: harness.now)))
        #expect(late?.missing == [harness.pid(1)])
        #expect(late.flatMap { value($0.metrics, #"plughost_http_requests_total{method="GET",route="/version",status="2xx"}"#) } == 31)
    }

    @Test("the text parser keeps HELP, skips lines that do not parse and prints integers without a fraction")
    func parser() {
        let text = "# HELP a_total What a counts.\n# TYPE a_total counter\na_total 3\nnot a sample\na_total{x=\"1\"} 2.5\n"
        let merged = MetricsMerge.merge(workers: [(1, text), (2, text)], retired: MetricsMerge.Totals(), supervisor: "")
        #expect(merged.contains("# HELP a_total What a counts.\n# TYPE a_total counter\na_total 6\n"))
        #expect(merged.contains("a_total{x=\"1\"} 5\n"))
    }

    @Test("a summary's count and sum add up but its quantiles are labelled per worker; an exemplar's braces and a trailing comma in the labels do not confuse the parser")
    func summariesAndExemplars() {
        let text = """
            # TYPE latency summary
            latency{quantile="0.5"} 0.25
            latency_sum 4
            latency_count 8
            # TYPE hits_total counter
            hits_total{path="/a",} 2 # {trace_id="x}y"} 1.0
            """
        let merged = MetricsMerge.merge(workers: [(1, text), (2, text)], retired: MetricsMerge.Totals(), supervisor: "")
        #expect(merged.contains("latency{quantile=\"0.5\",worker=\"1\"} 0.25\n") && merged.contains("latency{quantile=\"0.5\",worker=\"2\"} 0.25\n"), "\(merged)")
        #expect(merged.contains("latency_sum 8\n") && merged.contains("latency_count 16\n"), "\(merged)")
        #expect(merged.contains("hits_total{path=\"/a\"} 4\n"), "\(merged)")
    }
}
